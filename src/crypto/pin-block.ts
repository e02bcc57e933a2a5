/**
 * ISO 9564-1 format 0 PIN blocks, for the simulators (posbridge itself never sees a clear PIN):
 *   PIN field = 0 | PIN length | PIN digits | F padding        (16 nibbles)
 *   PAN field = 0000 | 12 rightmost PAN digits excluding the check digit (zero-filled on the left
 *               when the PAN is shorter)
 *   block     = PIN field XOR PAN field, optionally encrypted (ECB) under the PIN key (PIK).
 * PINs and blocks are returned as `SensitiveBytes` (a PIN as its ASCII digits); errors never carry
 * the PIN, the block or the PAN.
 */
import { Pan, SensitiveBytes } from '../card/index.js';
import { clearCopy, constantTimeEqual, viewOf, type BytesInput } from './bytes.js';
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
    if (b.length !== 8)
      throw new CryptoError('bad_pin_block', 'a PIN block is 8 bytes', { expected: 8, actual: b.length });
    xorPanField(b, pan);
    const format = (b[0] as number) >> 4;
    const len = (b[0] as number) & 0x0f;
    if (format !== 0)
      throw new CryptoError('bad_pin_block', 'not an ISO 9564 format 0 block', { reason: 'format' });
    if (len < 4 || len > 12)
      throw new CryptoError('bad_pin_block', 'PIN length nibble out of range 4..12', { reason: 'length' });
    const out = Buffer.alloc(len);
    try {
      for (let i = 0; i < 14; i++) {
        const byte = b[1 + (i >> 1)] as number;
        const nib = i % 2 === 0 ? byte >> 4 : byte & 0x0f;
        if (i < len) {
          if (nib > 9)
            throw new CryptoError('bad_pin_block', 'PIN digit nibble is not 0-9', { reason: 'digit' });
          out[i] = 0x30 + nib;
        } else if (nib !== 0x0f) {
          throw new CryptoError('bad_pin_block', 'filler nibble is not F', { reason: 'filler' });
        }
      }
      return SensitiveBytes.from(out, 'pin');
    } finally {
      out.fill(0);
    }
  } finally {
    b.fill(0);
  }
}

/** Decrypts an encrypted format-0 PIN block under `pik` and decodes it (host simulator). */
export function decryptPinBlockIso0(encrypted: BytesInput, pan: PanInput, pik: KeyInput): SensitiveBytes {
  const { bytes, owned } = viewOf(encrypted);
  try {
    if (bytes.length !== 8) {
      throw new CryptoError('bad_pin_block', 'a PIN block is 8 bytes', { expected: 8, actual: bytes.length });
    }
    const clear = DesKey.from(pik, 'pik').decryptEcb(bytes);
    try {
      return decodePinBlockIso0(clear, pan);
    } finally {
      clear.fill(0);
    }
  } finally {
    if (owned) bytes.fill(0);
  }
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
