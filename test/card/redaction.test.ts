import { Writable } from 'node:stream';
import util from 'node:util';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import {
  cardLogOptions,
  maskPan,
  Pan,
  REDACT_CENSOR,
  redactPaths,
  scrubJsonStrings,
  scrubText,
  scrubValue,
  SensitiveBytes,
  serializeError,
  Track2,
} from '../../src/card/index.js';
import { KEY_HEX, leaksIn, PAN16, PAN19, PIN_BLOCK_HEX, TRACK2_CLEAR } from './fixtures.js';

const MASKED19 = maskPan(PAN19);

interface LogLine {
  [key: string]: unknown;
  msg: string;
  pan: string;
  card: { number: string };
  fields: Record<string, string>;
  err: { type: string; message: string; code: string; stack: string };
}

function memoryLogger(options: object): { logger: pino.Logger; lines: () => string[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString('utf8'));
      cb();
    },
  });
  const logger = pino({ level: 'trace', ...options }, stream);
  return {
    logger,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l !== ''),
  };
}

/** A vendor TLV container (FF8101) whose inside holds tag 57 (track 2 equivalent) and 5A (PAN). */
function opaqueVendorTlv(): Buffer {
  const t57 = Buffer.concat([
    Buffer.from([0x57, 0x13]),
    Buffer.from(`${TRACK2_CLEAR.slice(0, 37)}F`, 'hex').subarray(0, 19),
  ]);
  const t5a = Buffer.concat([Buffer.from([0x5a, 0x0a]), Buffer.from(`${PAN19}F`, 'hex')]);
  const inner = Buffer.concat([t57, t5a]);
  return Buffer.concat([Buffer.from([0xff, 0x81, 0x01, inner.length]), inner]);
}

/** Every log call a careless caller could make with card data in it. Returns how many lines it logs. */
function logEverything(logger: pino.Logger): number {
  const pan = Pan.fromDigits(PAN19);
  const track2 = Track2.parse(TRACK2_CLEAR);
  const pinBlock = SensitiveBytes.from(Buffer.from(PIN_BLOCK_HEX, 'hex'), 'pin-block');
  const vendorTlv = opaqueVendorTlv();
  const hexAscii = Buffer.from(PAN19).toString('hex');
  let n = 0;
  const log = (fn: () => void): void => {
    fn();
    n++;
  };
  // value types, under redacted and unredacted keys
  log(() => logger.info({ pan, track2, pinBlock }, 'card read'));
  log(() =>
    logger.info({ card: { number: pan, t2: track2, list: [pan, track2], m: new Map([['p', pan]]) } }),
  );
  // raw strings under redacted paths
  log(() =>
    logger.info({ pan: PAN19, track2: TRACK2_CLEAR, track3: '0123', pinBlock: PIN_BLOCK_HEX, cvv: '123' }),
  );
  log(() =>
    logger.info({ card: { pan: PAN19, track2: TRACK2_CLEAR, expiry: '2512', pinBlock: PIN_BLOCK_HEX } }),
  );
  log(() =>
    logger.info({
      fields: { 2: PAN19, 35: TRACK2_CLEAR, 45: `B${PAN19}^TEST/CARD^2512`, 52: PIN_BLOCK_HEX },
    }),
  );
  log(() =>
    logger.info({
      request: { mti: '0200', fields: { 2: PAN19, 35: TRACK2_CLEAR, 55: vendorTlv.toString('hex') } },
    }),
  );
  log(() => logger.debug({ payment: { request: { fields: { 2: PAN19, 36: '0123' } } } }));
  log(() =>
    logger.info({ key: KEY_HEX, keys: { tpk: KEY_HEX }, session: { clearKey: KEY_HEX, tak: KEY_HEX } }),
  );
  log(() => logger.info({ tlv: vendorTlv, reader: { field55Raw: vendorTlv.toString('hex') } }));
  // raw data where no path covers it: caught by the scrubber
  log(() => logger.info({ note: `card ${PAN19} read`, deep: { a: { b: { c: { d: { pan: PAN19 } } } } } }));
  log(() =>
    logger.info({ dump: hexAscii, dumpUpper: hexAscii.toUpperCase(), bcd: Buffer.from(`${PAN19}F`, 'hex') }),
  );
  log(() =>
    logger.info({
      ascii: Buffer.from(PAN19),
      frame: Buffer.concat([Buffer.from('0200'), Buffer.from(PAN19)]),
    }),
  );
  log(() =>
    logger.info({
      msg2: { raw: { bytes: Buffer.from(PAN19), u8: new Uint8Array(Buffer.from(`${PAN19}F`, 'hex')) } },
    }),
  );
  log(() => logger.info({ spaced: '6228 4804 0256 4890 018', dashed: '4761-7390-0101-0010' }));
  log(() => logger.info(`message with ${PAN19} and ${TRACK2_CLEAR}`));
  log(() => logger.info('format %s %o %j %d', PAN19, { pan: PAN19, x: [PAN19] }, { raw: TRACK2_CLEAR }, 5));
  // errors whose message contains a raw PAN
  log(() => logger.error(new Error(`card ${PAN19} declined`)));
  log(() => logger.error(new Error(`card ${PAN19} declined`), 'sale failed for %s', PAN19));
  log(() => logger.error({ err: new Error(`card ${PAN19}`, { cause: new Error(`track ${TRACK2_CLEAR}`) }) }));
  log(() =>
    logger.error({ error: Object.assign(new Error(`x ${PAN19}`), { pan: PAN19, detail: PAN19 }) }, 'oops'),
  );
  log(() => logger.warn({ failure: new AggregateError([new Error(PAN19)], `all ${PAN19}`) }));
  // child bindings
  log(() =>
    logger.child({ pan: PAN19, context: `card ${PAN19}`, t: track2 }).info({ stan: '000123' }, 'child'),
  );
  log(() =>
    logger.child({ paymentId: 'p1' }).child({ payment: { pan } }).info({ rrn: '123456789012' }, 'grandchild'),
  );
  // the object graph of the leak test
  log(() =>
    logger.info({ graph: { pan, track2, pinBlock, vendor: SensitiveBytes.from(vendorTlv, 'vendor-tlv') } }),
  );
  return n;
}

function assertNoLeak(output: string): void {
  expect(leaksIn(output, PAN19), output).toEqual([]);
  expect(leaksIn(output, PAN16)).toEqual([]);
  expect(output).not.toContain(TRACK2_CLEAR.slice(PAN19.length)); // expiry + service code + discretionary
  expect(output).not.toContain(PIN_BLOCK_HEX);
  expect(output).not.toContain(KEY_HEX);
  expect(output.toLowerCase()).not.toContain(opaqueVendorTlv().toString('hex'));
}

describe('pino with cardLogOptions', () => {
  it('is assignable to pino.LoggerOptions (checked by tsc) and has the expected shape', () => {
    const options: pino.LoggerOptions = cardLogOptions();
    expect(options.redact).toEqual({ paths: redactPaths, censor: '***' });
    expect(Object.keys(options.serializers ?? {})).toEqual(expect.arrayContaining(['err', 'error']));
    expect(typeof options.hooks?.logMethod).toBe('function');
    expect(typeof options.hooks?.streamWrite).toBe('function');
    expect(cardLogOptions({ scrub: false }).hooks).toBeUndefined();
  });

  it('leak test: no PAN in ASCII, hex or BCD form, no track, PIN block or key', () => {
    const { logger, lines } = memoryLogger(cardLogOptions());
    const n = logEverything(logger);
    const out = lines();
    expect(out).toHaveLength(n); // every call logged (a logger that logs nothing would pass trivially)
    for (const line of out) expect(() => JSON.parse(line)).not.toThrow();
    assertNoLeak(out.join('\n'));
  });

  it('keeps what is useful: masked PANs, censor on paths, error types and codes, readable messages', () => {
    const { logger, lines } = memoryLogger(cardLogOptions());
    logger.info(
      { card: { number: Pan.fromDigits(PAN19) }, pan: PAN19, fields: { 2: PAN19, 3: '000000' } },
      'read',
    );
    logger.error(Object.assign(new Error(`card ${PAN19} declined`), { code: 'declined' }));
    logger.info({ rrn: '123456789012', amount: 1500, time2: 1718000000000 }, 'ok');
    const [a, b, c] = lines().map((l) => JSON.parse(l) as LogLine);
    expect(a!.card.number).toBe(MASKED19);
    expect(a!.pan).toBe(REDACT_CENSOR);
    expect(a!.fields['2']).toBe(REDACT_CENSOR);
    expect(a!.fields['3']).toBe('000000');
    expect(b!.msg).toBe(`card ${MASKED19} declined`);
    expect(b!.err.message).toBe(`card ${MASKED19} declined`);
    expect(b!.err.type).toBe('Error');
    expect(b!.err.code).toBe('declined');
    expect(b!.err.stack).toContain('redaction.test.ts');
    expect(c).toMatchObject({ rrn: '123456789012', amount: 1500, time2: 1718000000000, msg: 'ok' });
  });

  it('does not change the objects it logs', () => {
    const { logger } = memoryLogger(cardLogOptions());
    const obj = { pan: PAN19, nested: { note: `x ${PAN19}` }, err: new Error(PAN19) };
    logger.info(obj);
    expect(obj.pan).toBe(PAN19);
    expect(obj.nested.note).toBe(`x ${PAN19}`);
    expect(obj.err).toBeInstanceOf(Error);
  });

  it('paths and serializers alone (scrub: false) still cover value types, paths and error objects', () => {
    const { logger, lines } = memoryLogger(cardLogOptions({ scrub: false }));
    const pan = Pan.fromDigits(PAN19);
    logger.info({
      pan: PAN19,
      card: { pan: PAN19, track2: TRACK2_CLEAR },
      fields: { 2: PAN19, 35: TRACK2_CLEAR },
    });
    logger.info({ v: pan, t: Track2.parse(TRACK2_CLEAR), nested: [{ pan }] });
    logger.error({ err: new Error(`card ${PAN19}`) }, 'failed');
    logger.info({ payment: { request: { fields: { 2: PAN19, 52: PIN_BLOCK_HEX } } } });
    expect(lines()).toHaveLength(4);
    assertNoLeak(lines().join('\n'));
  });

  it('control: without cardLogOptions the same calls leak (so the detector works)', () => {
    const { logger, lines } = memoryLogger({});
    logEverything(logger);
    const out = lines().join('\n');
    expect(leaksIn(out, PAN19).length).toBeGreaterThan(0);
    expect(out).toContain(Buffer.from(PAN19).toString('hex'));
  });

  it('the same graph through JSON.stringify, util.inspect and a thrown error', () => {
    const graph = {
      pan: Pan.fromDigits(PAN19),
      track2: Track2.parse(TRACK2_CLEAR),
      pinBlock: SensitiveBytes.from(Buffer.from(PIN_BLOCK_HEX, 'hex'), 'pin-block'),
      vendor: SensitiveBytes.from(opaqueVendorTlv(), 'vendor-tlv'),
    };
    let thrown = '';
    try {
      throw new Error(
        `failed with ${graph.pan} ${graph.track2} ${graph.pinBlock} ${graph.vendor} ${JSON.stringify(graph)}`,
      );
    } catch (err) {
      thrown = `${String(err)}\n${(err as Error).stack ?? ''}\n${util.inspect(err)}`;
    }
    assertNoLeak(
      [JSON.stringify(graph), util.inspect(graph, { depth: 10, showHidden: true }), thrown].join('\n'),
    );
  });
});

describe('redactPaths', () => {
  it('covers the card-data keys at the top level and below', () => {
    for (const p of [
      'pan',
      '*.pan',
      '*.*.pan',
      'track2',
      '*.track2',
      'track3',
      'pinBlock',
      '*.pinBlock',
      'cvv',
      'expiry',
      'fields.2',
      'fields.35',
      'fields.36',
      'fields.45',
      'fields.52',
      '*.fields.2',
      '*.*.fields.35',
      'key',
      '*.key',
      'clearKey',
      'tlv',
      'field55Raw',
    ]) {
      expect(redactPaths).toContain(p);
    }
    expect(new Set(redactPaths).size).toBe(redactPaths.length);
  });
});

describe('scrubText', () => {
  it('masks runs of 13-19 digits whether or not they pass Luhn', () => {
    expect(scrubText(`card ${PAN19} declined`)).toBe(`card ${MASKED19} declined`);
    expect(scrubText(`4111111111111111,4111111111111112`)).toBe('411111******1111,411111******1112');
    expect(scrubText('x4761739001010y')).toBe('x476******1010y'); // 13 digits, next to letters
    expect(scrubText(`${PAN19}D2512101`)).toBe(`${MASKED19}D2512101`);
  });

  it('masks grouped card numbers', () => {
    expect(scrubText('pan 4761 7390 0101 0010 ok')).toBe('pan 476173******0010 ok');
    expect(scrubText('4761-7390-0101-0010')).toBe('476173******0010');
  });

  it('masks longer digit runs entirely (hex dumps of ASCII digits, numeric fields with a PAN inside)', () => {
    const hex = Buffer.from(PAN19).toString('hex');
    expect(scrubText(`dump ${hex}`)).toBe(`dump ${'*'.repeat(hex.length)}`);
    expect(scrubText(`19${PAN19}`)).toBe('*'.repeat(21));
  });

  it('keeps short numbers, ids and times', () => {
    const text =
      'rrn 123456789012 stan 000123 amount 1500 at 2025-06-10T12:00:00.000Z id 123e4567-e89b-12d3-a456-426614174000';
    expect(scrubText(text)).toBe(text);
  });

  it('known PANs: also base64 and short ones', () => {
    const b64 = Buffer.concat([Buffer.from('xy'), Buffer.from(PAN19)]).toString('base64');
    const bcd64 = Buffer.concat([Buffer.from([0x01]), Buffer.from(`${PAN19}F`, 'hex')]).toString('base64url');
    const short = '476173900101'; // 12 digits: not caught generically
    expect(scrubText(`${short}`)).toBe(short);
    const out = scrubText(`${b64} ${bcd64} ${short}`, [Pan.fromDigits(PAN19), short]);
    expect(out).not.toContain(short);
    expect(Buffer.from(out.split(' ')[0]!.replace(/\*/g, ''), 'base64').toString('latin1')).not.toContain(
      PAN19.slice(6, -4),
    );
    expect(out.split(' ')[0]).toContain('****');
    expect(out.split(' ')[1]).toContain('****');
  });
});

describe('scrubJsonStrings', () => {
  it('scrubs string tokens only: numbers and structure stay, the line stays JSON', () => {
    const line = JSON.stringify({
      time: 1718000000000,
      big: 6228480402564890,
      s: `a "${PAN19}" b`,
      [PAN19]: 1,
      n: [1, 2],
    });
    const out = scrubJsonStrings(line);
    expect(JSON.parse(out)).toEqual({
      time: 1718000000000,
      big: 6228480402564890,
      s: `a "${MASKED19}" b`,
      [MASKED19]: 1,
      n: [1, 2],
    });
    expect(scrubJsonStrings('{"a":1}')).toBe('{"a":1}');
    expect(scrubJsonStrings(`not json "${PAN19}`)).toBe(`not json "${MASKED19}`);
  });
});

describe('value types copied without their private fields (as pino redaction copies them)', () => {
  it('print *** and never throw on the text path; reveal still refuses', () => {
    const pan = Object.create(Pan.prototype) as Pan;
    const track = Object.create(Track2.prototype) as Track2;
    const bytes = Object.create(SensitiveBytes.prototype) as SensitiveBytes;
    for (const v of [pan, track, bytes]) {
      expect(String(v)).toBe('***');
      expect(JSON.stringify(v)).toBe('"***"');
      expect(`${v}`).toBe('***');
      expect(() => util.inspect(v, { showHidden: true })).not.toThrow();
    }
    expect(track.pan).toBeUndefined();
    expect(track.expiry).toBeUndefined();
    expect(track.encrypted).toBe(false);
    expect(pan.lastFour).toBe('');
    expect(pan.equals(Pan.fromDigits(PAN19))).toBe(false);
    expect(() => pan.reveal()).toThrow(TypeError);
    expect(() => track.reveal()).toThrow(TypeError);
    expect(() => bytes.reveal()).toThrow(TypeError);
  });
});

describe('scrubValue and serializeError', () => {
  it('copies without reveal, replaces binary, handles cycles', () => {
    const pan = Pan.fromDigits(PAN19);
    const cyclic: Record<string, unknown> = { s: PAN19, pan, buf: Buffer.from(PAN19) };
    cyclic['self'] = cyclic;
    const out = scrubValue(cyclic) as Record<string, unknown>;
    expect(out['s']).toBe(MASKED19);
    expect(out['pan']).toBe(MASKED19);
    expect(out['buf']).toBe('[binary 19 bytes]');
    expect(out['self']).toBe('[Circular]');
  });

  it('serializes errors with type, code, cause, and scrubbed text', () => {
    const err = Object.assign(new TypeError(`bad ${PAN19}`, { cause: new Error(`inner ${PAN19}`) }), {
      code: 'x',
    });
    const out = serializeError(err);
    expect(out).toMatchObject({
      type: 'TypeError',
      message: `bad ${MASKED19}`,
      code: 'x',
      cause: { message: `inner ${MASKED19}` },
    });
    expect(JSON.stringify(out)).not.toContain(PAN19);
    expect(serializeError({ message: PAN19 })).toEqual({ message: MASKED19 });
  });
});
