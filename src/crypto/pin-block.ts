/**
 * ISO 9564-1 format 0 PIN blocks, for the simulators (posbridge itself never sees a clear PIN):
 *   PIN field = 0 | PIN length | PIN digits | F padding        (16 nibbles)
 *   PAN field = 0000 | 12 rightmost PAN digits excluding the check digit (zero-filled on the left
 *               when the PAN is shorter)
 *   block     = PIN field XOR PAN field, optionally encrypted (ECB) under the PIN key (PIK).
 * PINs and blocks are returned as `SensitiveBytes` (a PIN as its ASCII digits); errors never carry
 * the PIN, the block or the PAN.
 *
 * Formats 1, 3 and 4 (ISO 9564-1:2017 section 9.3; layout as implemented and tested by the open-source
 * psec library, github.com/knovichikhin/psec, psec/pinblock.py and tests/test_pinblock.py):
 *   format 1: 1 | N | PIN digits | transaction-field fill (random nibbles 0-F)        no PAN, 8 bytes
 *   format 3: (3 | N | PIN digits | random fill nibbles A-F) XOR the format-0 PAN field, 8 bytes
 *   format 4 (AES, 16 bytes):
 *     PIN field = 4 | N | PIN digits | A fill to nibble 15 | 8 random bytes (nibbles 0-F)
 *     PAN field = M | PAN digits | 0 fill to 32 nibbles, M = PAN length - 12 (0..7); a PAN shorter than
 *                 12 digits is zero-filled on the left to 12 digits and M = 0
 *     block     = AES_K( AES_K(PIN field) XOR PAN field ), K an AES-128/192/256 key.
 * Random fill comes from `crypto.randomBytes` unless a `random` source is injected (tests).
 * Decoding checks the size, the format nibble, the PIN length nibble (4..12), the PIN digits and the
 * fill, and throws `bad_pin_block` with `reason` 'size' | 'format' | 'length' | 'digit' | 'filler'.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { Pan, SensitiveBytes } from '../card/index.js';
import { clearCopy, constantTimeEqual, viewOf, xorInto, type BytesInput } from './bytes.js';
import { DesKey, type KeyInput } from './des-key.js';
import { CryptoError } from './errors.js';

/** A PIN as a digit string, or `SensitiveBytes` holding its ASCII digits. */
export type PinInput = string | SensitiveBytes;
export type PanInput = Pan | string;

/** The clear format-0 PIN block (8 bytes). */
export function buildPinBlockIso0(pin: PinInput, pan: PanInput): SensitiveBytes {
  const digits = pinDigits(pin);
  const block = Buffer.alloc(8, 0xff);
  try {
    block[0] = digits.length; // nibbles 0 and len
    for (let i = 0; i < digits.length; i++) {
      const byte = 1 + (i >> 1);
      const d = digits[i] as number;
      block[byte] =
        i % 2 === 0 ? (d << 4) | ((block[byte] as number) & 0x0f) : ((block[byte] as number) & 0xf0) | d;
    }
    xorPanField(block, pan);
    return SensitiveBytes.from(block, 'pin-block');
  } finally {
    block.fill(0);
    digits.fill(0);
  }
}

/** The format-0 PIN block encrypted under `pik` (3DES/DES ECB): what a PIN pad puts into field 52. */
export function encryptPinBlockIso0(pin: PinInput, pan: PanInput, pik: KeyInput): SensitiveBytes {
  const clear = buildPinBlockIso0(pin, pan);
  const bytes = clear.reveal();
  try {
    return SensitiveBytes.adopt(DesKey.from(pik, 'pik').encryptEcb(bytes), 'pin-block');
  } finally {
    bytes.fill(0);
    clear.wipe();
  }
}

/** Decodes a clear format-0 PIN block; returns the PIN's ASCII digits. Throws `bad_pin_block`. */
export function decodePinBlockIso0(block: BytesInput, pan: PanInput): SensitiveBytes {
  const b = clearCopy(block);
  try {
    requireBlockSize(b, 8);
    xorPanField(b, pan);
    return readPinNibbles(b, 0, (n) => n === 0x0f, 'F');
  } finally {
    b.fill(0);
  }
}

/** Decrypts an encrypted format-0 PIN block under `pik` and decodes it (host simulator). */
export function decryptPinBlockIso0(encrypted: BytesInput, pan: PanInput, pik: KeyInput): SensitiveBytes {
  return decryptThen(encrypted, pik, (clear) => decodePinBlockIso0(clear, pan));
}

/**
 * True when the encrypted block holds `expectedPin` (constant-time compare). A block that does not
 * decode (wrong key, wrong PAN, not format 0) throws `bad_pin_block`, so a host can tell "wrong PIN"
 * (false) from "cannot read the block".
 */
export function verifyPinBlockIso0(
  encrypted: BytesInput,
  pan: PanInput,
  pik: KeyInput,
  expectedPin: PinInput,
): boolean {
  const got = decryptPinBlockIso0(encrypted, pan, pik);
  const a = got.reveal();
  const want = pinDigits(expectedPin);
  const b = Buffer.from(want.map((d) => 0x30 + d));
  try {
    return constantTimeEqual(a, b);
  } finally {
    a.fill(0);
    b.fill(0);
    want.fill(0);
    got.wipe();
  }
}

/** A source of random bytes (`crypto.randomBytes` by default); injectable so tests are deterministic. */
export type RandomSource = (size: number) => Uint8Array;

export interface PinBlockOptions {
  /** Where the random fill comes from; `crypto.randomBytes` when not given. */
  random?: RandomSource;
}

/** The ISO 9564-1 PIN block formats built here. */
export type PinBlockFormat = 0 | 1 | 3 | 4;

const defaultRandom: RandomSource = (size) => randomBytes(size);

/** `size` bytes from the random source, as an owned Buffer (the caller wipes it). */
function randomFill(options: PinBlockOptions | undefined, size: number): Buffer {
  const got = (options?.random ?? defaultRandom)(size);
  try {
    if (got.length !== size)
      throw new CryptoError('bad_data', 'the random source returned the wrong number of bytes', {
        expected: size,
        actual: got.length,
        reason: 'random',
      });
    return Buffer.from(got);
  } finally {
    if (options?.random === undefined) got.fill(0);
  }
}

/**
 * Writes the control nibble, the length nibble and the PIN digits into the first 2 + N nibbles of
 * `field`; the other nibbles are left as they are (the caller's fill).
 */
function writePinNibbles(field: Buffer, format: PinBlockFormat, digits: Uint8Array): void {
  field[0] = (format << 4) | digits.length;
  for (let i = 0; i < digits.length; i++) {
    const byte = 1 + (i >> 1);
    const d = digits[i] as number;
    const cur = field[byte] as number;
    field[byte] = i % 2 === 0 ? (d << 4) | (cur & 0x0f) : (cur & 0xf0) | d;
  }
}

/**
 * Reads nibbles 0..15 of `field` (8 bytes: a clear format 0/1/3 block, or the first half of a format-4
 * PIN field): control nibble `format`, length 4..12, decimal digits, then fill nibbles accepted by
 * `fillOk`. Returns the PIN's ASCII digits; throws `bad_pin_block` naming the reason, never the digits.
 */
function readPinNibbles(
  field: Buffer,
  format: PinBlockFormat,
  fillOk: (nibble: number) => boolean,
  fillRule: string,
): SensitiveBytes {
  const control = (field[0] as number) >> 4;
  const len = (field[0] as number) & 0x0f;
  if (control !== format)
    throw new CryptoError('bad_pin_block', `not an ISO 9564 format ${format} block`, {
      expected: format,
      actual: control,
      reason: 'format',
    });
  if (len < 4 || len > 12)
    throw new CryptoError('bad_pin_block', 'PIN length nibble out of range 4..12', { reason: 'length' });
  const out = Buffer.alloc(len);
  try {
    for (let i = 0; i < 14; i++) {
      const byte = field[1 + (i >> 1)] as number;
      const nib = i % 2 === 0 ? byte >> 4 : byte & 0x0f;
      if (i < len) {
        if (nib > 9)
          throw new CryptoError('bad_pin_block', 'PIN digit nibble is not 0-9', { reason: 'digit' });
        out[i] = 0x30 + nib;
      } else if (!fillOk(nib)) {
        throw new CryptoError('bad_pin_block', `filler nibble is not ${fillRule}`, { reason: 'filler' });
      }
    }
    return SensitiveBytes.from(out, 'pin');
  } finally {
    out.fill(0);
  }
}

function requireBlockSize(bytes: Uint8Array, size: 8 | 16): void {
  if (bytes.length !== size)
    throw new CryptoError('bad_pin_block', `a PIN block is ${size} bytes`, {
      expected: size,
      actual: bytes.length,
      reason: 'size',
    });
}

// ---- format 1 --------------------------------------------------------------------------------------

/** The clear format-1 PIN block (8 bytes): 1 | N | PIN | random transaction-field fill. No PAN. */
export function buildPinBlockIso1(pin: PinInput, options?: PinBlockOptions): SensitiveBytes {
  const digits = pinDigits(pin);
  const block = randomFill(options, 8);
  try {
    writePinNibbles(block, 1, digits);
    return SensitiveBytes.from(block, 'pin-block');
  } finally {
    block.fill(0);
    digits.fill(0);
  }
}

/** The format-1 PIN block encrypted under `pik` (3DES/DES ECB). */
export function encryptPinBlockIso1(pin: PinInput, pik: KeyInput, options?: PinBlockOptions): SensitiveBytes {
  return encryptClear(buildPinBlockIso1(pin, options), pik);
}

/** Decodes a clear format-1 PIN block (any fill nibble 0-F); returns the PIN's ASCII digits. */
export function decodePinBlockIso1(block: BytesInput): SensitiveBytes {
  const b = clearCopy(block);
  try {
    requireBlockSize(b, 8);
    return readPinNibbles(b, 1, () => true, '0-F');
  } finally {
    b.fill(0);
  }
}

/** Decrypts an encrypted format-1 PIN block under `pik` and decodes it (host simulator). */
export function decryptPinBlockIso1(encrypted: BytesInput, pik: KeyInput): SensitiveBytes {
  return decryptThen(encrypted, pik, (clear) => decodePinBlockIso1(clear));
}

// ---- format 3 --------------------------------------------------------------------------------------

/**
 * `count` random nibbles A-F, unbiased: each random nibble 0..11 maps to A + (n mod 6), 12..15 are
 * drawn again.
 */
function randomHexLetters(options: PinBlockOptions | undefined, count: number): Uint8Array {
  const out = new Uint8Array(count);
  let have = 0;
  for (let round = 0; have < count; round++) {
    if (round >= 64)
      throw new CryptoError('bad_data', 'the random source gave no usable fill', { reason: 'random' });
    const r = randomFill(options, count);
    try {
      for (let i = 0; i < r.length * 2 && have < count; i++) {
        const byte = r[i >> 1] as number;
        const n = i % 2 === 0 ? byte >> 4 : byte & 0x0f;
        if (n < 12) out[have++] = 0x0a + (n % 6);
      }
    } finally {
      r.fill(0);
    }
  }
  return out;
}

/** The clear format-3 PIN block (8 bytes): (3 | N | PIN | random A-F fill) XOR the PAN field. */
export function buildPinBlockIso3(pin: PinInput, pan: PanInput, options?: PinBlockOptions): SensitiveBytes {
  const digits = pinDigits(pin);
  const block = Buffer.alloc(8);
  let fill: Uint8Array | undefined;
  try {
    fill = randomHexLetters(options, 14 - digits.length);
    for (let i = 0; i < fill.length; i++) {
      const nibble = 2 + digits.length + i;
      const byte = nibble >> 1;
      block[byte] =
        (block[byte] as number) | (nibble % 2 === 0 ? (fill[i] as number) << 4 : (fill[i] as number));
    }
    writePinNibbles(block, 3, digits);
    xorPanField(block, pan);
    return SensitiveBytes.from(block, 'pin-block');
  } finally {
    block.fill(0);
    digits.fill(0);
    fill?.fill(0);
  }
}

/** The format-3 PIN block encrypted under `pik` (3DES/DES ECB). */
export function encryptPinBlockIso3(
  pin: PinInput,
  pan: PanInput,
  pik: KeyInput,
  options?: PinBlockOptions,
): SensitiveBytes {
  return encryptClear(buildPinBlockIso3(pin, pan, options), pik);
}

/** Decodes a clear format-3 PIN block (fill nibbles A-F); returns the PIN's ASCII digits. */
export function decodePinBlockIso3(block: BytesInput, pan: PanInput): SensitiveBytes {
  const b = clearCopy(block);
  try {
    requireBlockSize(b, 8);
    xorPanField(b, pan);
    return readPinNibbles(b, 3, (n) => n >= 0x0a, 'A-F');
  } finally {
    b.fill(0);
  }
}

/** Decrypts an encrypted format-3 PIN block under `pik` and decodes it (host simulator). */
export function decryptPinBlockIso3(encrypted: BytesInput, pan: PanInput, pik: KeyInput): SensitiveBytes {
  return decryptThen(encrypted, pik, (clear) => decodePinBlockIso3(clear, pan));
}

function encryptClear(clear: SensitiveBytes, pik: KeyInput): SensitiveBytes {
  const bytes = clear.reveal();
  try {
    return SensitiveBytes.adopt(DesKey.from(pik, 'pik').encryptEcb(bytes), 'pin-block');
  } finally {
    bytes.fill(0);
    clear.wipe();
  }
}

function decryptThen(
  encrypted: BytesInput,
  pik: KeyInput,
  decode: (clear: Buffer) => SensitiveBytes,
): SensitiveBytes {
  const { bytes, owned } = viewOf(encrypted);
  try {
    requireBlockSize(bytes, 8);
    const clear = DesKey.from(pik, 'pik').decryptEcb(bytes);
    try {
      return decode(clear);
    } finally {
      clear.fill(0);
    }
  } finally {
    if (owned) bytes.fill(0);
  }
}

// ---- format 4 (AES) --------------------------------------------------------------------------------

/** The clear format-4 PIN field (16 bytes): 4 | N | PIN | A fill to nibble 15 | 8 random bytes. */
export function buildPinFieldIso4(pin: PinInput, options?: PinBlockOptions): SensitiveBytes {
  const digits = pinDigits(pin);
  const field = Buffer.alloc(16, 0xaa);
  let rnd: Buffer | undefined;
  try {
    writePinNibbles(field, 4, digits);
    rnd = randomFill(options, 8);
    rnd.copy(field, 8);
    return SensitiveBytes.from(field, 'pin-block');
  } finally {
    field.fill(0);
    digits.fill(0);
    rnd?.fill(0);
  }
}

/** Decodes a clear format-4 PIN field (16 bytes); the last 8 bytes are random and not checked. */
export function decodePinFieldIso4(field: BytesInput): SensitiveBytes {
  const b = clearCopy(field);
  try {
    requireBlockSize(b, 16);
    return readPinNibbles(b, 4, (n) => n === 0x0a, 'A');
  } finally {
    b.fill(0);
  }
}

/** The format-4 PAN field (16 bytes): M | PAN (zero-filled on the left to 12 digits) | 0 fill. */
function panFieldIso4(pan: PanInput): Buffer {
  const digits = panDigits(pan);
  const m = digits.length < 12 ? 0 : digits.length - 12;
  const nibbles = (String(m) + digits.padStart(12, '0')).padEnd(32, '0');
  return Buffer.from(nibbles, 'hex');
}

/** An AES key object (16, 24 or 32 bytes) for ECB on whole blocks. */
function aesKey(key: BytesInput): { secret: KeyObject; algorithm: string } {
  const clear = clearCopy(key);
  try {
    if (clear.length !== 16 && clear.length !== 24 && clear.length !== 32)
      throw new CryptoError('bad_key_length', 'an AES PIN key is 16, 24 or 32 bytes', {
        key: 'pik',
        expected: '16, 24 or 32',
        actual: clear.length,
      });
    return { secret: createSecretKey(clear), algorithm: `aes-${clear.length * 8}-ecb` };
  } finally {
    clear.fill(0);
  }
}

function aesEcb(encrypt: boolean, key: { secret: KeyObject; algorithm: string }, block: Buffer): Buffer {
  const c = encrypt
    ? createCipheriv(key.algorithm, key.secret, null)
    : createDecipheriv(key.algorithm, key.secret, null);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(block), c.final()]);
}

/** The format-4 enciphered PIN block: AES_K(AES_K(PIN field) XOR PAN field), 16 bytes. */
export function encipherPinBlockIso4(
  pin: PinInput,
  pan: PanInput,
  key: BytesInput,
  options?: PinBlockOptions,
): SensitiveBytes {
  const k = aesKey(key);
  const panField = panFieldIso4(pan);
  const pinField = buildPinFieldIso4(pin, options);
  const clear = pinField.reveal();
  let a: Buffer | undefined;
  try {
    a = aesEcb(true, k, clear);
    xorInto(a, panField, 16);
    return SensitiveBytes.adopt(aesEcb(true, k, a), 'pin-block');
  } finally {
    clear.fill(0);
    a?.fill(0);
    panField.fill(0);
    pinField.wipe();
  }
}

/** Deciphers a format-4 PIN block and decodes it; returns the PIN's ASCII digits (host simulator). */
export function decipherPinBlockIso4(encrypted: BytesInput, pan: PanInput, key: BytesInput): SensitiveBytes {
  const { bytes, owned } = viewOf(encrypted);
  let b: Buffer | undefined;
  let field: Buffer | undefined;
  let panField: Buffer | undefined;
  try {
    requireBlockSize(bytes, 16);
    const k = aesKey(key);
    panField = panFieldIso4(pan);
    b = aesEcb(false, k, bytes);
    xorInto(b, panField, 16);
    field = aesEcb(false, k, b);
    return decodePinFieldIso4(field);
  } finally {
    b?.fill(0);
    field?.fill(0);
    panField?.fill(0);
    if (owned) bytes.fill(0);
  }
}

/** PIN digits as numbers 0-9 (4 to 12 of them). */
function pinDigits(pin: PinInput): Uint8Array {
  const raw = typeof pin === 'string' ? Buffer.from(pin, 'latin1') : pin.reveal();
  try {
    if (raw.length < 4 || raw.length > 12) {
      throw new CryptoError('bad_pin', 'PIN must be 4 to 12 digits', {
        expected: '4..12',
        actual: raw.length,
      });
    }
    const out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) {
      const c = (raw[i] as number) - 0x30;
      if (c < 0 || c > 9) {
        out.fill(0);
        throw new CryptoError('bad_pin', 'PIN must be decimal digits only');
      }
      out[i] = c;
    }
    return out;
  } finally {
    raw.fill(0);
  }
}

/** XORs the format-0 PAN field (0000 + 12 rightmost digits excluding the check digit) into `block`. */
function xorPanField(block: Buffer, pan: PanInput): void {
  const digits = panDigits(pan);
  const body = digits.slice(0, -1).slice(-12).padStart(12, '0');
  for (let i = 0; i < 6; i++) {
    const hi = body.charCodeAt(2 * i) - 0x30;
    const lo = body.charCodeAt(2 * i + 1) - 0x30;
    block[2 + i] = (block[2 + i] as number) ^ ((hi << 4) | lo);
  }
}

function panDigits(pan: PanInput): string {
  if (Pan.isPan(pan)) return pan.reveal();
  if (typeof pan === 'string' && /^[0-9]{1,19}$/.test(pan)) return pan;
  throw new CryptoError('bad_pan', 'PAN must be a Pan or 1 to 19 decimal digits');
}
