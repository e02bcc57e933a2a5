import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Pan, SensitiveBytes } from '../../src/card/index.js';
import {
  buildPinBlockIso0,
  decodePinBlockIso0,
  decryptPinBlockIso0,
  desEcbEncrypt,
  encryptPinBlockIso0,
  verifyPinBlockIso0,
} from '../../src/crypto/index.js';
import { hex, toHex } from './helpers.js';
import { caught } from '../support/crypto-error.js';

const PIK = hex('0123456789ABCDEFFEDCBA9876543210');
const PAN = '6217973910000725090';

describe('ISO 9564 format 0 PIN blocks', () => {
  it('round-trips every PIN length 4..12, with a Pan or a digit string', () => {
    for (let len = 4; len <= 12; len++) {
      const pin = '907856341290'.slice(0, len);
      const block = buildPinBlockIso0(pin, Pan.fromDigits(PAN));
      expect(block).toBeInstanceOf(SensitiveBytes);
      expect(block.reveal()).toEqual(buildPinBlockIso0(pin, PAN).reveal());
      expect(decodePinBlockIso0(block, PAN).reveal().toString('latin1')).toBe(pin);
      const enc = encryptPinBlockIso0(pin, PAN, PIK);
      expect(enc.reveal()).toEqual(desEcbEncrypt(PIK, block.reveal()));
      expect(decryptPinBlockIso0(enc, Pan.fromDigits(PAN), PIK).reveal().toString('latin1')).toBe(pin);
    }
  });

  it('uses the 12 rightmost digits excluding the check digit, zero-filled for short PANs', () => {
    // PIN field 041234FFFFFFFFFF; PAN 12345 -> body "1234" -> PAN field 0000000000001234.
    expect(toHex(buildPinBlockIso0('1234', '12345').reveal())).toBe('041234FFFFFFEDCB');
    expect(toHex(buildPinBlockIso0('1234', '1').reveal())).toBe('041234FFFFFFFFFF');
  });

  it('verifies a PIN from the encrypted block in constant time', () => {
    const enc = encryptPinBlockIso0('123456', PAN, PIK);
    expect(verifyPinBlockIso0(enc, PAN, PIK, '123456')).toBe(true);
    expect(verifyPinBlockIso0(enc, PAN, PIK, '123457')).toBe(false);
    expect(verifyPinBlockIso0(enc, PAN, PIK, '1234')).toBe(false);
    expect(verifyPinBlockIso0(enc.reveal(), PAN, PIK, SensitiveBytes.fromText('123456'))).toBe(true);
  });

  it('rejects bad PINs and PANs without echoing them', () => {
    for (const pin of ['123', '1234567890123', '12a4', '12 34', '']) {
      const err = caught(() => buildPinBlockIso0(pin, PAN));
      expect(err.code).toBe('bad_pin');
      if (pin.length >= 4) expect(err.message).not.toContain(pin);
    }
    const err = caught(() => buildPinBlockIso0('1234', '62179739x0000725090'));
    expect(err.code).toBe('bad_pan');
    expect(err.message).not.toContain('6217973');
  });

  it('rejects blocks that are not format 0 or do not decode, naming why but not the digits', () => {
    const good = buildPinBlockIso0('1234', PAN).reveal();
    const cases: Array<[string, Buffer]> = [
      ['format', Buffer.from(good.map((b, i) => (i === 0 ? b | 0x10 : b)))],
      ['length', Buffer.from(good.map((b, i) => (i === 0 ? 0x03 : b)))],
      ['length', Buffer.from(good.map((b, i) => (i === 0 ? 0x0d : b)))],
      ['filler', Buffer.from(good.map((b, i) => (i === 7 ? b ^ 0x01 : b)))],
    ];
    for (const [reason, block] of cases) {
      const err = caught(() => decodePinBlockIso0(block, PAN));
      expect(err.code).toBe('bad_pin_block');
      expect(err.reason).toBe(reason);
    }
    // A digit nibble > 9: PIN "1234" with the first digit turned into A.
    const digit = Buffer.from(good);
    digit[1] = (digit[1] as number) ^ 0xb0; // 1 -> A
    expect(caught(() => decodePinBlockIso0(digit, PAN)).reason).toBe('digit');
    expect(caught(() => decodePinBlockIso0(Buffer.alloc(7), PAN)).code).toBe('bad_pin_block');
    // Wrong PAN: the block no longer decodes to a format-0 PIN field (filler nibbles differ).
    expect(caught(() => decodePinBlockIso0(good, '6217973910000725190')).code).toBe('bad_pin_block');
    // Wrong key: garbage.
    const enc = encryptPinBlockIso0('1234', PAN, PIK);
    expect(caught(() => decryptPinBlockIso0(enc, PAN, hex('1111111111111111'))).code).toBe('bad_pin_block');
  });

  it('PIN blocks and PINs print masked', () => {
    const block = buildPinBlockIso0('987654', PAN);
    const pin = decodePinBlockIso0(block, PAN);
    for (const v of [block, pin]) {
      expect(JSON.stringify({ v })).toBe('{"v":"***"}');
      expect(inspect(v)).not.toContain('987654');
    }
  });
});
