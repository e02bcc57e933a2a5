import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { decodeHex } from '../../src/daemon/decode-command.js';
import { codecVectors } from '../iso8583/vectors.js';

const scandemo = codecVectors('cup-pos.json').find((v) => v.id === 'cup-scandemo-0200-ic-sale-req')!;
const PAN = '6217973910000725090';

describe('posbridge decode', () => {
  it('describes a captured frame with card data masked', () => {
    const r = decodeHex(scandemo.hex, { dialect: 'cup-pos', lengthHeader: 'none', header: '60310031FFF1' });
    expect(r.ok).toBe(true);
    expect(r.text).toContain('TPDU id 60 destination 0003 source 0000');
    expect(r.text).toContain('621797*********5090');
    expect(r.text).not.toContain(PAN);
  });

  it('reports a rejected frame by its typed error, not a stack trace', () => {
    const r = decodeHex(scandemo.hex, { dialect: 'cup-pos' });
    expect(r.ok).toBe(false);
    expect(r.text).toMatch(/^length_header_mismatch:/);
    expect(decodeHex('12345', { dialect: 'cup-pos' })).toEqual({
      ok: false,
      text: 'input is not an even number of hex digits',
    });
    expect(decodeHex('00', { dialect: 'nope' }).text).toMatch(/^unknown_dialect/);
  });

  it('posbridge-sim sample prints a described sale and no PAN', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'simulators/cli.ts', 'sample'], {
      encoding: 'utf8',
    });
    expect(out).toContain('60.1 Transaction type code: 22 (sale)');
    expect(out).toContain('621234*********0019');
    expect(out).not.toContain('6212340000000000019');
    expect(out).not.toMatch(/62123400000000000190/i);
  });
});
