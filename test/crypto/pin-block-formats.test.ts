/**
 * ISO 9564-1 PIN block formats 1, 3 and 4 (src/crypto/pin-block.ts).
 *
 * Published vectors are from the open-source psec library (https://github.com/knovichikhin/psec):
 *   - tests/test_pinblock.py: format 3 decode vectors, format 4 PIN-field decode errors, the
 *     deterministic format 4 encipher vector (random pad FF x 8), the ep2 vector ("ep2 - eft/pos 2000
 *     Security Specification, Version 8.0.0, 8.4: PIN Encryption"), the short-PAN vector and the
 *     decipher error vectors;
 *   - psec/pinblock.py docstrings: encode_pin_field_iso_4, encipher_pinblock_iso_4,
 *     decipher_pinblock_iso_4 and decode_pinblock_iso_3 examples.
 */
import { describe, expect, it } from 'vitest';
import { Pan, SensitiveBytes } from '../../src/card/index.js';
import {
  buildPinBlockIso1,
  buildPinBlockIso3,
  buildPinFieldIso4,
  decipherPinBlockIso4,
  decodePinBlockIso1,
  decodePinBlockIso3,
  decodePinFieldIso4,
  decryptPinBlockIso1,
  decryptPinBlockIso3,
  desEcbEncrypt,
  encipherPinBlockIso4,
  encryptPinBlockIso1,
  encryptPinBlockIso3,
  type RandomSource,
} from '../../src/crypto/index.js';
import { hex, toHex } from './helpers.js';
import { caught } from '../support/crypto-error.js';

const PIK = hex('0123456789ABCDEFFEDCBA9876543210');
const PAN = '6217973910000725090';
const AES_KEY = hex('00112233445566778899AABBCCDDEEFF');

/** A random source that always returns `byte`. */
const constant =
  (byte: number): RandomSource =>
  (n) =>
    Buffer.alloc(n, byte);

const text = (s: SensitiveBytes): string => s.reveal().toString('latin1');

describe('ISO 9564 format 1 PIN blocks', () => {
  it('is 1 | N | PIN | transaction-field fill, no PAN', () => {
    expect(toHex(buildPinBlockIso1('1234', { random: constant(0x00) }).reveal())).toBe('1412340000000000');
    expect(toHex(buildPinBlockIso1('12345', { random: constant(0x5a) }).reveal())).toBe('1512345A5A5A5A5A');
    expect(toHex(buildPinBlockIso1('123456789012', { random: constant(0xff) }).reveal())).toBe(
      '1C123456789012FF',
    );
  });

  it('round-trips every PIN length, clear and encrypted, with random fill from crypto.randomBytes', () => {
    for (let len = 4; len <= 12; len++) {
      const pin = '907856341290'.slice(0, len);
      const block = buildPinBlockIso1(pin);
      expect(block).toBeInstanceOf(SensitiveBytes);
      expect(text(decodePinBlockIso1(block))).toBe(pin);
      const enc = encryptPinBlockIso1(pin, PIK, { random: constant(0x3c) });
      expect(enc.reveal()).toEqual(
        desEcbEncrypt(PIK, buildPinBlockIso1(pin, { random: constant(0x3c) }).reveal()),
      );
      expect(text(decryptPinBlockIso1(enc, PIK))).toBe(pin);
    }
    // the fill is random: 10 blocks of a 4-digit PIN are not all the same
    const seen = new Set(Array.from({ length: 10 }, () => toHex(buildPinBlockIso1('1234').reveal())));
    expect(seen.size).toBeGreaterThan(1);
  });

  it('accepts any fill nibble and rejects a bad format, length or digit', () => {
    expect(text(decodePinBlockIso1(hex('141234F0A5C3E19B')))).toBe('1234');
    const cases: Array<[string, string]> = [
      ['format', '041234FFFFFFFFFF'],
      ['length', '1312340000000000'],
      ['length', '1D12345678901234'],
      ['digit', '14123A0000000000'],
    ];
    for (const [reason, block] of cases) {
      const err = caught(() => decodePinBlockIso1(hex(block)));
      expect(err.code).toBe('bad_pin_block');
      expect(err.reason).toBe(reason);
    }
    expect(caught(() => decodePinBlockIso1(hex('14123400000000'))).reason).toBe('size');
    expect(caught(() => decryptPinBlockIso1(hex('14123400000000'), PIK)).reason).toBe('size');
  });
});

describe('ISO 9564 format 3 PIN blocks', () => {
  it('decodes the psec vectors', () => {
    const pan = '5555555551234567';
    expect(text(decodePinBlockIso3(hex('341261AAAAEDCBA9'), pan))).toBe('1234');
    expect(text(decodePinBlockIso3(hex('391261032D8DCBA9'), pan))).toBe('123456789');
    expect(text(decodePinBlockIso3(hex('3A1261032D82CBA9'), pan))).toBe('1234567890');
    expect(text(decodePinBlockIso3(hex('3C1261032D8226A9'), Pan.fromDigits(pan)))).toBe('123456789012');
    expect(text(decodePinBlockIso3(hex('341277EEEFCCB43C'), '5544332211009966'))).toBe('1234');
  });

  it('builds (3 | N | PIN | A-F fill) XOR the format-0 PAN field', () => {
    // random nibble 5 maps to fill F: the psec vector with an all-F fill.
    expect(toHex(buildPinBlockIso3('1234', '5555555551234567', { random: constant(0x55) }).reveal())).toBe(
      '341261AAAAEDCBA9',
    );
    // random nibbles 12..15 are drawn again (unbiased); 0 maps to A.
    let calls = 0;
    const skipThenZero: RandomSource = (n) => Buffer.alloc(n, calls++ === 0 ? 0xff : 0x00);
    expect(toHex(buildPinBlockIso3('1234', '1', { random: skipThenZero }).reveal())).toBe('341234AAAAAAAAAA');
    expect(calls).toBe(2);
  });

  it('round-trips with random A-F fill, clear and encrypted', () => {
    for (let len = 4; len <= 12; len++) {
      const pin = '907856341290'.slice(0, len);
      for (let k = 0; k < 20; k++) {
        const block = buildPinBlockIso3(pin, PAN);
        expect(text(decodePinBlockIso3(block, PAN))).toBe(pin);
        // every fill nibble (after XOR-ing the PAN field back out) is A-F
        const clear = decodePanOut(block.reveal(), PAN);
        const nibbles = toHex(clear).slice(2 + len);
        expect(nibbles).toMatch(/^[A-F]*$/);
      }
      const enc = encryptPinBlockIso3(pin, PAN, PIK);
      expect(text(decryptPinBlockIso3(enc, Pan.fromDigits(PAN), PIK))).toBe(pin);
    }
  });

  it('rejects the psec error vectors with a typed reason', () => {
    const pan = '5555555551234567';
    const cases: Array<[string, string]> = [
      ['format', '241261AAAAEDCBA9'],
      ['length', '3F1261AAAAEDCBA9'],
      ['length', '321261AAAAEDCBA9'],
      ['filler', '341261AAAAEDCBA2'], // a fill nibble 4
      ['digit', '351261AAAAEDCBA9'], // PIN "1234F"
    ];
    for (const [reason, block] of cases) {
      const err = caught(() => decodePinBlockIso3(hex(block), pan));
      expect(err.code).toBe('bad_pin_block');
      expect(err.reason).toBe(reason);
      expect(err.message).not.toContain('1234');
      expect(err.message).not.toContain('555555');
    }
    expect(caught(() => decodePinBlockIso3(hex('341261AAAAEDCB'), pan)).reason).toBe('size');
  });
});

/** The clear format-3 PIN field of a block (the PAN field XORed back out), for the fill check. */
function decodePanOut(block: Buffer, pan: string): Buffer {
  const body = pan.slice(0, -1).slice(-12).padStart(16, '0');
  const panField = Buffer.from(body, 'hex');
  return Buffer.from(block.map((b, i) => b ^ panField[i]!));
}

describe('ISO 9564 format 4 PIN blocks (AES)', () => {
  it('builds the plain-text PIN field: 4 | N | PIN | A fill | 8 random bytes (psec docstring)', () => {
    const pad = hex('548ED7FD65495950');
    expect(toHex(buildPinFieldIso4('1234', { random: () => pad }).reveal())).toBe(
      '441234AAAAAAAAAA548ED7FD65495950',
    );
    expect(text(decodePinFieldIso4(hex('441234AAAAAAAAAA548ED7FD65495950')))).toBe('1234');
  });

  it('matches the psec encipher vectors', () => {
    // tests/test_pinblock.py test_encipher_pinblock_iso_4_det (random pad FF x 8)
    expect(
      toHex(
        encipherPinBlockIso4('1234', '1234567890123456789', AES_KEY, { random: constant(0xff) }).reveal(),
      ),
    ).toBe('28B41FDDD29B743E93124BD8E32D921E');
    // psec/pinblock.py encipher_pinblock_iso_4 docstring (pad 1122334455667788)
    const pad = hex('1122334455667788');
    expect(
      toHex(
        encipherPinBlockIso4('1234', Pan.fromDigits('1234567890123456'), AES_KEY, {
          random: () => pad,
        }).reveal(),
      ),
    ).toBe('7CDF645C86CAF763AE34637A66997534');
  });

  it('deciphers the published vectors (ep2, a PAN shorter than 12 digits, psec docstring)', () => {
    // ep2 eft/pos 2000 Security Specification 8.0.0, 8.4, via psec tests/test_pinblock.py
    expect(
      text(
        decipherPinBlockIso4(
          hex('CC17F65586BFD0953010226C4FC5B3CA'),
          '432198765432109870',
          hex('C1D0F8FB4958670DBA40AB1F3752EF0D'),
        ),
      ),
    ).toBe('1234');
    expect(text(decipherPinBlockIso4(hex('39B69B1B91FE05D48F7EF0D68EB2CBD6'), '1', AES_KEY))).toBe('123456');
    expect(
      text(decipherPinBlockIso4(hex('E4BE5B623AF7E006AC319E5B93544564'), '1234567890123456', AES_KEY)),
    ).toBe('1234');
  });

  it('round-trips every PIN length with AES-128/192/256 and random pads', () => {
    for (const keyLen of [16, 24, 32]) {
      const key = SensitiveBytes.from(Buffer.alloc(keyLen, 0x4b));
      for (let len = 4; len <= 12; len++) {
        const pin = '907856341290'.slice(0, len);
        for (const pan of ['1', '12345678901', '123456789012', PAN]) {
          const block = encipherPinBlockIso4(pin, pan, key);
          expect(block.reveal().length).toBe(16);
          expect(text(decipherPinBlockIso4(block, pan, key))).toBe(pin);
        }
      }
    }
    const a = encipherPinBlockIso4('1234', PAN, AES_KEY).reveal();
    const b = encipherPinBlockIso4('1234', PAN, AES_KEY).reveal();
    expect(a).not.toEqual(b);
  });

  it('rejects the psec PIN-field error vectors with a typed reason', () => {
    const cases: Array<[string, string]> = [
      ['format', '541234AAAAAAAAAA548ED7FD65495950'],
      ['length', '43123AAAAAAAAAAA548ED7FD65495950'],
      ['filler', '441234ABCDEFABCD548ED7FD65495950'],
      ['digit', '4412D4AAAAAAAAAA548ED7FD65495950'],
    ];
    for (const [reason, field] of cases) {
      const err = caught(() => decodePinFieldIso4(hex(field)));
      expect(err.code).toBe('bad_pin_block');
      expect(err.reason).toBe(reason);
    }
    expect(caught(() => decodePinFieldIso4(hex('341261AAAAEDCB'))).reason).toBe('size');
    expect(caught(() => decodePinFieldIso4(hex('441234AAAAAAAAAA548ED7FD6549595000'))).reason).toBe('size');
  });

  it('rejects the psec decipher error vectors with a typed reason, without echoing the PAN', () => {
    const cases: Array<[string, string, string, string]> = [
      [
        'format',
        'E60B15B90ABDF14CEE337C97440F0D6E',
        '7D5AF4C33667A2098626027FB7A9A1B7',
        '4266229809609384667',
      ],
      [
        'digit',
        'C7BBEBA16C5AD97D5866450718C03750',
        '2F9C910447F17293EC95DEDE1E3CA201',
        '8220499325458689523',
      ],
      [
        'filler',
        '820F6C7C12355BDFF1AB6CE12E8EED89',
        'CCF310A8300B46C925A86B1098089301',
        '939589847393485609',
      ],
    ];
    for (const [reason, key, block, pan] of cases) {
      const err = caught(() => decipherPinBlockIso4(hex(block), pan, hex(key)));
      expect(err.code).toBe('bad_pin_block');
      expect(err.reason).toBe(reason);
      expect(err.message).not.toContain(pan.slice(0, 6));
    }
    // 17 bytes, or a PAN of 20 digits
    const ep2Key = hex('C1D0F8FB4958670DBA40AB1F3752EF0D');
    expect(
      caught(() =>
        decipherPinBlockIso4(hex('CC17F65586BFD0953010226C4FC5B3CA00'), '432198765432109870', ep2Key),
      ).reason,
    ).toBe('size');
    expect(
      caught(() =>
        decipherPinBlockIso4(hex('CC17F65586BFD0953010226C4FC5B3CA'), '43219876543210987099', ep2Key),
      ).code,
    ).toBe('bad_pan');
  });

  it('a wrong PAN or key does not decode', () => {
    const block = encipherPinBlockIso4('123456', PAN, AES_KEY);
    expect(caught(() => decipherPinBlockIso4(block, '6217973910000725091', AES_KEY)).code).toBe(
      'bad_pin_block',
    );
    expect(caught(() => decipherPinBlockIso4(block, PAN, hex('FFEEDDCCBBAA99887766554433221100'))).code).toBe(
      'bad_pin_block',
    );
  });

  it('rejects AES keys that are not 16, 24 or 32 bytes, and bad PINs, without echoing them', () => {
    const err = caught(() => encipherPinBlockIso4('1234', PAN, hex('0123456789ABCDEF')));
    expect(err.code).toBe('bad_key_length');
    expect(err.key).toBe('pik');
    for (const pin of ['123', '1234567890123', '12a4']) {
      const e = caught(() => encipherPinBlockIso4(pin, PAN, AES_KEY));
      expect(e.code).toBe('bad_pin');
      if (pin.length >= 4) expect(e.message).not.toContain(pin);
    }
    // a random source that returns the wrong number of bytes
    const short = caught(() => buildPinFieldIso4('1234', { random: () => hex('00') }));
    expect(short.code).toBe('bad_data');
    expect(short.reason).toBe('random');
  });
});
