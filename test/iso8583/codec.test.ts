import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Pan, SensitiveBytes } from '../../src/card/index.js';
import {
  Composite,
  DialectError,
  Iso8583Error,
  compileDialect,
  dialectFraming,
  frame,
  frameLength,
  listDialects,
  loadDialect,
  unframe,
  type DialectFile,
} from '../../src/iso8583/index.js';

const cup = loadDialect('cup-pos');
const PAN = '6217973910000725090';

function sale(extra: Record<string, unknown> = {}) {
  return {
    mti: '0200',
    fields: {
      2: Pan.fromDigits(PAN),
      3: '000000',
      4: '000000005588',
      11: '000023',
      14: SensitiveBytes.fromText('2312'),
      22: '051',
      23: '001',
      25: '00',
      26: '06',
      41: '29800013',
      42: '848290441116000',
      49: '156',
      52: Buffer.from('086BDB118D7AC25E', 'hex'),
      53: '2600000000000000',
      55: Buffer.from('9F2608DEAE676D1C473411', 'hex'),
      60: { '1': '22', '2': '000000', '3': '000', '4': '6', '5': '0' },
      ...extra,
    },
  } as const;
}

function codeOf(fn: () => unknown): Iso8583Error {
  try {
    fn();
  } catch (e) {
    if (e instanceof Iso8583Error) return e;
    throw e;
  }
  throw new Error('expected an Iso8583Error');
}

describe('pack / unpack', () => {
  it('packs a chip sale the way the scandemo vector has it, and unpacks card data wrapped', () => {
    const body = cup.pack(sale());
    expect(body.subarray(0, 2).toString('hex')).toBe('0200');
    // F2: LL BCD 0x19, 19 digits left-aligned with a trailing 0 nibble.
    expect(body.subarray(10, 21).toString('hex').toUpperCase()).toBe(
      '196217973910000725090'.padEnd(22, '0').toUpperCase(),
    );
    const msg = cup.unpack(body);
    expect(msg.fields[2]).toBeInstanceOf(Pan);
    expect((msg.fields[2] as Pan).reveal()).toBe(PAN);
    expect(msg.fields[14]).toBeInstanceOf(SensitiveBytes);
    expect(msg.fields[52]).toBeInstanceOf(SensitiveBytes);
    const f60 = msg.fields[60] as Composite;
    expect(f60).toBeInstanceOf(Composite);
    expect(f60.wire).toBe('2200000000060');
    expect(f60.get('2')).toBe('000000');
    expect(f60.get('6')).toBeUndefined();
  });

  it('zero-fills short fixed numeric fields and refuses long ones', () => {
    const msg = cup.unpack(cup.pack(sale({ 4: '5588' })));
    expect(msg.fields[4]).toBe('000000005588');
    const e = codeOf(() => cup.pack(sale({ 4: '1234567890123' })));
    expect(e.code).toBe('too_long');
    expect(e.field).toBe('4');
  });

  it('rejects non-digits in numeric fields when packing, naming the field', () => {
    const e = codeOf(() => cup.pack(sale({ 11: '00002X' })));
    expect([e.code, e.field]).toEqual(['not_numeric', '11']);
  });

  it('computes the secondary bitmap from the fields present, never by hand', () => {
    const iso = loadDialect('iso87-ascii');
    const without = iso.pack({ mti: '0800', fields: { 7: '0420090613', 11: '900001' } });
    expect(without.subarray(4, 20).toString()).toBe('0220000000000000');
    const withSecondary = iso.pack({ mti: '0800', fields: { 7: '0420090613', 11: '900001', 70: '001' } });
    expect(withSecondary.subarray(4, 36).toString()).toBe('82200000000000000400000000000000');
    expect(codeOf(() => iso.pack({ mti: '0800', fields: { 1: 'x' } })).code).toBe('unknown_field');
  });

  it('supports a tertiary bitmap when the dialect declares one', () => {
    const d = compileDialect({
      name: 'tertiary-test',
      mti: { encoding: 'ascii' },
      bitmap: { encoding: 'binary', tertiary: true },
      fields: {
        '3': { name: 'p', type: 'n', encoding: 'ascii', length: 6 },
        '130': { name: 'far', type: 'ans', encoding: 'ascii', length: 4 },
      },
    });
    const body = d.pack({ mti: '0100', fields: { 3: '000000', 130: 'ABCD' } });
    expect(body.length).toBe(4 + 24 + 6 + 4);
    expect(body[4]! & 0x80).toBe(0x80);
    expect(body[12]! & 0x80).toBe(0x80);
    expect(d.unpack(body).fields).toEqual({ 3: '000000', 130: 'ABCD' });
  });

  it('reports a bit set for an undefined field with its offset', () => {
    const body = cup.pack({
      mti: '0800',
      fields: { 41: '10016919', 42: '84329004582000B', 60: '00000726005' },
    });
    const only5 = Buffer.from(body);
    only5[2] = only5[2]! | 0x08; // bit 5
    const e5 = codeOf(() => cup.unpack(only5));
    expect([e5.code, e5.field, e5.offset]).toEqual(['unknown_field', '5', 10]);
  });

  it('rejects trailing bytes', () => {
    const body = Buffer.concat([cup.pack(sale()), Buffer.from([0])]);
    const e = codeOf(() => cup.unpack(body));
    expect([e.code, e.actual]).toEqual(['trailing_bytes', 1]);
  });

  it('checks the pad nibble of odd-length BCD', () => {
    const body = cup.pack(sale());
    const idx = body.indexOf(Buffer.from('0510', 'hex'), 20); // F22 "051" left-aligned + pad 0
    const bad = Buffer.from(body);
    bad[idx + 1] = 0x1f;
    const e = codeOf(() => cup.unpack(bad));
    expect([e.code, e.field, e.offset]).toEqual(['bad_padding', '22', idx + 1]);
  });

  it('never puts card data in error messages', () => {
    const body = cup.pack(sale());
    const bad = Buffer.from(body);
    bad[15] = 0xaa; // inside the PAN digits
    const e = codeOf(() => cup.unpack(bad));
    expect(e.field).toBe('2');
    expect(e.message).not.toMatch(/621797|0725090|AA/);
    expect(JSON.stringify(e)).not.toContain('6217973910000725');
  });

  it('rejects a declared length above the field maximum', () => {
    const iso = loadDialect('iso87-ascii');
    const body = Buffer.from('0200' + '4000000000000000' + '20' + '12345678901234567890');
    const e = codeOf(() => iso.unpack(body));
    expect([e.code, e.field, e.offset]).toEqual(['too_long', '2', 20]);
  });
});

describe('per-message rules', () => {
  it('enforces mandatory and forbidden fields per message type and processing code', () => {
    const { 4: _amount, ...noAmount } = sale().fields;
    const e = codeOf(() => cup.pack({ mti: '0200', fields: noAmount }));
    expect([e.code, e.field]).toEqual(['field_mandatory', '4']);
    const f = codeOf(() => cup.pack(sale({ 39: '00' })));
    expect([f.code, f.field]).toEqual(['field_forbidden', '39']);
    const balance = codeOf(() => cup.pack(sale({ 3: '310000' })));
    expect([balance.code, balance.field]).toEqual(['field_forbidden', '4']);
    const signOn = codeOf(() =>
      cup.pack({ mti: '0800', fields: { 2: Pan.fromDigits(PAN), 41: '1', 42: '2', 60: '00000726005' } }),
    );
    expect([signOn.code, signOn.field]).toEqual(['field_forbidden', '2']);
  });

  it('can be skipped for replaying captured traffic', () => {
    expect(() => cup.pack({ mti: '0200', fields: { 3: '000000' } }, { rules: false })).not.toThrow();
  });
});

describe('composite fields', () => {
  it('builds from parts, refuses gaps and wrong lengths', () => {
    expect(codeOf(() => cup.pack(sale({ 60: { '1': '22', '3': '000' } }))).field).toBe('60.2');
    const wrong = codeOf(() => cup.pack(sale({ 60: { '1': '22', '2': '727' } })));
    expect([wrong.code, wrong.field, wrong.expected, wrong.actual]).toEqual(['bad_value', '60.2', 6, 3]);
    expect(codeOf(() => cup.pack(sale({ 60: { '1': '22', '9': '1' } }))).field).toBe('60.9');
  });

  it('accepts the wire form and refuses one that ends inside a subfield', () => {
    const e = codeOf(() => cup.pack(sale({ 60: '2200072' })));
    expect([e.code, e.field]).toEqual(['subfield_truncated', '60.2']);
    const ok = cup.unpack(cup.pack(sale({ 60: '22000727000600070' })));
    expect((ok.fields[60] as Composite).parts).toEqual({
      '1': '22',
      '2': '000727',
      '3': '000',
      '4': '6',
      '5': '0',
      '6': '0',
      '7': '070',
    });
  });
});

describe('MAC placement', () => {
  it('leaves a placeholder, gives the MAC input, and fills the MAC in', () => {
    const body = cup.pack(sale(), { mac: true });
    expect(body.subarray(-8).equals(Buffer.alloc(8))).toBe(true);
    expect(cup.unpack(body).fields[64]).toEqual(Buffer.alloc(8));
    const input = cup.macInput(body);
    expect(input.equals(body.subarray(0, body.length - 8))).toBe(true);
    const mac = Buffer.from('4643423245374432', 'hex');
    const signed = cup.applyMac(body, mac);
    expect(signed.subarray(-8).equals(mac)).toBe(true);
    expect(body.subarray(-8).equals(Buffer.alloc(8))).toBe(true); // original untouched
    expect(cup.macOf(signed).equals(mac)).toBe(true);
    expect(cup.unpack(signed).fields[64]).toEqual(mac);
  });

  it('writes the MAC as hex characters in an ASCII dialect, in field 128 with a secondary bitmap', () => {
    const iso = loadDialect('iso87-ascii');
    const body = iso.pack({ mti: '0200', fields: { 3: '000000', 70: '001' } }, { mac: true });
    const signed = iso.applyMac(body, Buffer.from('0102030405060708', 'hex'));
    expect(signed.subarray(-16).toString()).toBe('0102030405060708');
    expect(Object.keys(iso.unpack(signed).fields)).toEqual(['3', '70', '128']);
  });

  it('refuses a body without a MAC field and a MAC of the wrong length', () => {
    const body = cup.pack(sale());
    expect(codeOf(() => cup.macInput(body)).code).toBe('mac_field_absent');
    expect(codeOf(() => cup.applyMac(cup.pack(sale(), { mac: true }), Buffer.alloc(4))).code).toBe(
      'bad_mac_length',
    );
  });
});

describe('encodings', () => {
  const ebcdic = compileDialect({
    name: 'ebcdic-test',
    mti: { encoding: 'ebcdic' },
    bitmap: { encoding: 'binary' },
    fields: {
      '2': {
        name: 'PAN',
        type: 'n',
        encoding: 'ebcdic-037',
        length: 19,
        prefix: { encoding: 'ebcdic', digits: 2 },
        sensitive: 'pan',
      },
      '28': { name: 'fee', type: 'x+n', encoding: 'ebcdic-1047', length: 8 },
      '43': { name: 'name', type: 'ans', encoding: 'ebcdic-1047', length: 10, pad: ' ' },
      '44': {
        name: 'brackets',
        type: 'ans',
        encoding: 'ebcdic-037',
        length: 9,
        prefix: { encoding: 'binary', digits: 2 },
      },
    },
  });

  it('EBCDIC cp037 and cp1047 text, prefixes, MTI and signs round-trip', () => {
    const body = ebcdic.pack({
      mti: '0200',
      fields: { 2: Pan.fromDigits('4111111111111111'), 28: 'D00000100', 43: 'ABC[]^', 44: '[x]' },
    });
    expect(body.subarray(0, 4).toString('hex')).toBe('f0f2f0f0');
    // cp1047 puts [ at 0xAD and ] at 0xBD; cp037 at 0xBA / 0xBB.
    expect(body.includes(Buffer.from('c1c2c3adbd5f', 'hex'))).toBe(true);
    expect(body.includes(Buffer.from('03ba a7bb'.replace(' ', ''), 'hex'))).toBe(true);
    expect(body.includes(Buffer.from('c4', 'hex'))).toBe(true);
    const m = ebcdic.unpack(body);
    expect((m.fields[2] as Pan).reveal()).toBe('4111111111111111');
    expect(m.fields[43]).toBe('ABC[]^    ');
    expect(m.fields[28]).toBe('D00000100');
  });

  it('refuses an amount with a sign outside the allowed set', () => {
    expect(codeOf(() => ebcdic.pack({ mti: '0200', fields: { 28: 'X00000100' } })).code).toBe('bad_sign');
  });

  it('decodes GBK merchant names and host messages (vfwz)', () => {
    const vfwz = loadDialect('cup-pos-vfwz');
    const body = vfwz.pack(
      { mti: '0210', fields: { 43: '河南省银隆信息技术有限公司', 56: '00+成功' } },
      { rules: false },
    );
    const m = vfwz.unpack(body);
    expect(m.fields[43]).toBe('河南省银隆信息技术有限公司              ');
    expect(m.fields[56]).toBe('00+成功');
    expect(body.includes(Buffer.from('30302BB3C9B9A6', 'hex'))).toBe(true);
    expect(codeOf(() => vfwz.pack({ mti: '0210', fields: { 56: '😀' } }, { rules: false })).code).toBe(
      'bad_character',
    );
  });

  it('carries encrypted track nibbles A-F in z fields', () => {
    const body = cup.pack(sale({ 35: SensitiveBytes.fromText('6226097806938388D491C8C34DB509A8C85E9') }));
    const t = cup.unpack(body).fields[35] as SensitiveBytes;
    expect(t.reveal().toString()).toBe('6226097806938388D491C8C34DB509A8C85E9');
  });

  it('binary as hex characters must be uppercase hex', () => {
    const iso = loadDialect('iso87-ascii');
    const body = Buffer.from('0200' + '0000000000001000' + '0102030405060a08');
    expect(codeOf(() => iso.unpack(body)).code).toBe('not_hex');
  });
});

describe('framing', () => {
  const body = Buffer.from('0800', 'hex');
  const base = dialectFraming(cup);

  it('frames with each length header kind and unframes back', () => {
    for (const [kind, head] of [
      ['2-byte-binary', '000d'],
      ['2-byte-bcd', '0013'],
      ['4-byte-ascii', '30303133'],
      ['none', ''],
    ] as const) {
      const f = frame(body, { ...base, lengthHeader: kind });
      expect(f.toString('hex')).toBe(`${head}6000030000603100000000` + '0800');
      expect(unframe(f, { ...base, lengthHeader: kind }).body.equals(body)).toBe(true);
    }
  });

  it('swaps TPDU addresses only when asked', () => {
    const f = frame(body, { ...base, tpdu: '6000030012', swapTpdu: true });
    expect(f.subarray(2, 7).toString('hex')).toBe('6000120003');
    const u = unframe(f, base);
    expect(u.tpdu).toMatchObject({ id: '60', destination: '0012', source: '0003' });
  });

  it('decodes header flags such as "sign on again"', () => {
    const f = frame(body, { ...base, header: '603103000000' });
    const u = unframe(f, base);
    expect(u.header!.parts).toMatchObject({
      applicationType: '60',
      softwareVersion: '31',
      processingRequirement: '3',
    });
    expect(u.header!.flags).toEqual(['sign_on_again']);
    expect(unframe(frame(body, base), base).header!.flags).toEqual([]);
  });

  it('never decodes a frame whose length header disagrees, and reports a short frame', () => {
    const f = frame(body, base);
    const e = codeOf(() => unframe(Buffer.concat([f, Buffer.from([1])]), base));
    expect([e.code, e.expected, e.actual]).toEqual(['length_header_mismatch', 13, 14]);
    expect(codeOf(() => unframe(f.subarray(0, 5), base)).code).toBe('frame_too_short');
  });

  it('tells a stream reader how long the next frame is', () => {
    const f = frame(body, base);
    expect(frameLength(f.subarray(0, 1), base)).toBeUndefined();
    expect(frameLength(f.subarray(0, 2), base)).toBe(f.length);
    expect(codeOf(() => frame(Buffer.alloc(70000), base)).code).toBe('frame_too_large');
  });
});

describe('describe()', () => {
  it('names fields, masks card data and explains composite parts', () => {
    const text = cup.describe(cup.unpack(cup.pack(sale())));
    expect(text).toContain('MTI 0200 Financial request');
    expect(text).toContain('Primary account number: 621797*********5090');
    expect(text).toContain('Date, expiration (YYMM): *** (4 bytes)');
    expect(text).toContain('PIN data (encrypted PIN block): *** (8 bytes)');
    expect(text).toContain('60.1 Transaction type code: 22 (sale)');
    expect(text).toContain('60.4 Terminal read capability: 6 (contactless)');
    expect(text).toContain('Point of service entry mode: "051" (chip, PIN)');
    expect(text).not.toContain(PAN);
    expect(text).not.toContain('2312');
    expect(text).not.toContain('086BDB118D7AC25E');
    expect(text).toContain('ICC system related data: <11 bytes ber-tlv>');
    const rendered = cup.describe(cup.unpack(cup.pack(sale())), {
      renderContent: { 'ber-tlv': (b) => `TLV(${b.length})` },
    });
    expect(rendered).toContain('ICC system related data: TLV(11)');
  });

  it('masks card data in util.inspect of a whole message', () => {
    const out = inspect(cup.unpack(cup.pack(sale())), { depth: 5 });
    expect(out).not.toContain(PAN);
    expect(out).toContain('621797*********5090');
  });
});

describe('dialect loader', () => {
  const resolve = (name: string): unknown => (name === 'cup-pos' ? cup.spec : undefined);

  it('a child names only the MAC settings it changes; DUKPT MACs need a KSN field; a MAC needs field and input', () => {
    const child = compileDialect(
      {
        name: 'child-dukpt',
        extends: 'cup-pos',
        mac: { dukpt: true },
        fields: { '53': { name: 'KSN', type: 'b', encoding: 'binary', length: 10, content: 'dukpt-ksn' } },
      },
      resolve,
    );
    expect(child.spec.mac).toEqual({ ...cup.spec.mac, dukpt: true });
    expect(child.ksnField).toBe(53);
    const ksn = Buffer.alloc(10, 1);
    expect(child.dukptMacKsn({ 53: ksn })).toBe(ksn);
    expect(child.dukptMacKsn({ 52: ksn })).toBeUndefined();
    expect(cup.dukptMacKsn({ 53: ksn }), 'cup-pos MACs with the session key').toBeUndefined();

    const problems = (raw: object): string[] => {
      try {
        compileDialect(raw, resolve);
      } catch (e) {
        return (e as DialectError).problems.map((p) => `${p.path} ${p.message}`);
      }
      return [];
    };
    expect(problems({ name: 'no-ksn', extends: 'cup-pos', mac: { dukpt: true } })).toEqual([
      "/mac/dukpt DUKPT MACs need a field whose content is 'dukpt-ksn' (where the KSN travels)",
    ]);
    expect(
      problems({
        name: 'half-mac',
        mti: { encoding: 'bcd' },
        bitmap: { encoding: 'binary' },
        mac: { field: 64 },
        fields: {},
      }),
    ).toEqual(expect.arrayContaining(["/mac must have required property 'input'"]));
  });

  it('lists the shipped dialects', () => {
    expect(listDialects()).toEqual(
      expect.arrayContaining(['cup-pos', 'cup-pos-vfwz', 'iso87-ascii', 'iso87-binary']),
    );
  });

  it('reports every problem with its JSON path', () => {
    let err: DialectError | undefined;
    try {
      compileDialect({
        name: 'broken',
        mti: { encoding: 'utf8' },
        bitmap: { encoding: 'binary' },
        fields: {
          '2': { name: 'PAN', type: 'n', encoding: 'binary', length: 19 },
          '4': {
            name: 'amount',
            type: 'n',
            encoding: 'bcd',
            length: 200,
            prefix: { encoding: 'bcd', digits: 2 },
          },
          '60': {
            name: 'x',
            type: 'n',
            encoding: 'bcd',
            length: 3,
            subfields: [{ id: '1', name: 'a', length: 4 }],
          },
          '1': { name: 'bitmap', type: 'b', encoding: 'binary', length: 8 },
          '7': { name: 'y', type: 'n', encoding: 'bcd', length: 4, colour: 'red' },
        },
      });
    } catch (e) {
      err = e as DialectError;
    }
    expect(err).toBeInstanceOf(DialectError);
    const paths = err!.problems.map((p) => p.path);
    expect(paths).toEqual(expect.arrayContaining(['/mti/encoding', '/fields/7/colour']));
    expect(paths.some((p) => p.startsWith('/fields'))).toBe(true);

    let meaning: DialectError | undefined;
    try {
      compileDialect({
        name: 'broken2',
        mti: { encoding: 'bcd' },
        bitmap: { encoding: 'binary' },
        mac: { field: 63, input: 'mti-to-mac' },
        fields: {
          '2': { name: 'PAN', type: 'n', encoding: 'binary', length: 19 },
          '4': {
            name: 'amount',
            type: 'n',
            encoding: 'bcd',
            length: 200,
            prefix: { encoding: 'bcd', digits: 2 },
          },
          '60': {
            name: 'x',
            type: 'n',
            encoding: 'bcd',
            length: 3,
            subfields: [{ id: '1', name: 'a', length: 4 }],
          },
          '63': {
            name: 'z',
            type: 'ans',
            encoding: 'ascii',
            length: 9,
            prefix: { encoding: 'bcd', digits: 2 },
          },
        },
        messages: { '0200': { rules: [{ name: 'sale', mandatory: [4, 99] }] } },
      });
    } catch (e) {
      meaning = e as DialectError;
    }
    expect(meaning!.problems.map((p) => p.path).sort()).toEqual(
      [
        '/fields/2/encoding',
        '/fields/4/length',
        '/fields/60/subfields',
        '/mac/field',
        '/messages/0200/rules/0/mandatory/1',
      ].sort(),
    );
  });

  it('extends a dialect: adds fields, overrides attributes, removes fields, overrides per message type', () => {
    const child: DialectFile = {
      name: 'cup-pos-acme',
      extends: 'cup-pos',
      fields: {
        '63': { encoding: 'gbk' } as never,
        '47': {
          name: 'Acme data',
          type: 'ans',
          encoding: 'ascii',
          length: 30,
          prefix: { encoding: 'bcd', digits: 2 },
        },
        '58': null,
      },
      messages: { '0800': { fields: { '63': { type: 'b', encoding: 'binary' } as never } } },
    } as unknown as DialectFile;
    const d = compileDialect(child, resolve);
    const tid = { 41: '10016919', 42: '84329004582000B' };
    expect(d.fieldSpec('0200', 63)).toMatchObject({ type: 'ans', encoding: 'gbk', length: 163 });
    expect(d.fieldSpec('0800', 63)).toMatchObject({ type: 'b', encoding: 'binary' });
    expect(d.fieldSpec('0200', 47)?.name).toBe('Acme data');
    expect(d.fieldSpec('0200', 58)).toBeUndefined();
    expect(d.fieldSpec('0200', 2)?.sensitive).toBe('pan');
    const body = d.pack({ mti: '0800', fields: { ...tid, 60: '00000001001', 63: Buffer.from([0xff, 0]) } });
    expect((d.unpack(body).fields[63] as Buffer).toString('hex')).toBe('ff00');
  });

  it('refuses cycles and unknown parents', () => {
    const a = { name: 'a', extends: 'b', fields: {} };
    const b = { name: 'b', extends: 'a', fields: {} };
    const r = (n: string): unknown => ({ a, b })[n as 'a' | 'b'];
    expect(() => compileDialect(a, r)).toThrow(/cycle/);
    expect(() => compileDialect({ name: 'c', extends: 'nope', fields: {} }, r)).toThrow(
      /unknown dialect nope/,
    );
    expect(codeOf(() => loadDialect('no-such-dialect')).code).toBe('unknown_dialect');
  });
});

describe('rules select on composite fields given as parts', () => {
  it('a completion (60.1 20) given as parts needs 38 and 61', () => {
    const completion = { ...sale().fields, 60: { '1': '20', '2': '000001', '3': '000' } };
    const e = codeOf(() => cup.pack({ mti: '0200', fields: completion }));
    expect([e.code, e.field]).toEqual(['field_mandatory', '38']);
  });
});
