import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Pan, SensitiveBytes, Track2, cardLogOptions } from '../src/card/index.js';
import { parseTlv } from '../src/emv/index.js';

// Issue 2's leak test: one object graph holding every kind of card data, pushed through every way text
// leaves the process. The daemon's logger uses exactly cardLogOptions().
const PAN = '6212340000000000019';
const forms = [
  PAN,
  PAN.slice(0, 12),
  Buffer.from(PAN).toString('hex'), // ASCII digits as hex
  Buffer.from(PAN).toString('hex').toUpperCase(),
  `${PAN}0`, // BCD, left-aligned with pad nibble, as hex text
];

function graph() {
  // A vendor container (FF01) whose inside is not TLV: kept opaque, may hold track data.
  const vendor = Buffer.concat([Buffer.from('FF0113', 'hex'), Buffer.from(`${PAN}D3012`.slice(0, 19))]);
  const icc = Buffer.concat([
    Buffer.from('5A0A', 'hex'),
    Buffer.from(`${PAN}0`, 'hex'),
    Buffer.from('9F0206000012345600', 'hex'),
    vendor,
  ]);
  return {
    payment: {
      pan: Pan.fromDigits(PAN),
      track2: Track2.parse(`${PAN}=30122011234`),
      pinBlock: SensitiveBytes.from(Buffer.from('0412AC89ABCDEF67', 'hex'), 'pin block'),
      tlv: parseTlv(icc).elements,
      note: `card ${Pan.fromDigits(PAN)}`,
    },
  };
}

function assertClean(out: string): void {
  for (const f of forms) expect(out.toUpperCase()).not.toContain(f.toUpperCase());
  expect(out).not.toContain('0412AC89ABCDEF67'.toLowerCase());
  expect(out.toUpperCase()).not.toContain('0412AC89ABCDEF67');
}

describe('card data never leaves in clear', () => {
  it('pino with the exported redaction options', () => {
    let out = '';
    const sink = new Writable({
      write(chunk, _enc, cb) {
        out += String(chunk);
        cb();
      },
    });
    const logger = pino({ ...cardLogOptions(), level: 'debug' }, sink);
    const g = graph();
    logger.info(g, 'payment');
    logger.info({ nested: { deeper: g } }, 'nested');
    logger.child({ payment: g.payment }).warn('child bindings');
    logger.error(new Error(`failed for ${PAN}`));
    expect(out.length).toBeGreaterThan(100);
    assertClean(out);
  });

  it('JSON.stringify, util.inspect and an error thrown with the graph in its message', () => {
    const g = graph();
    assertClean(JSON.stringify(g));
    assertClean(inspect(g, { depth: 10 }));
    let caught = '';
    try {
      throw new Error(`cannot process ${JSON.stringify(g)} / ${String(g.payment.pan)} / ${g.payment.track2}`);
    } catch (e) {
      caught = `${(e as Error).message}\n${(e as Error).stack}`;
    }
    assertClean(caught);
  });
});
