/**
 * Working keys delivered in UnionPay POS sign-on (0810) field 62, each encrypted (ECB) under the
 * terminal master key (TMK) and followed by a 4-byte key check value (KCV = leftmost 4 bytes of the
 * clear key's encryption of eight zero bytes).
 *
 * Layouts (offsets in bytes):
 *   'single'      24 bytes (60.3 = 001): PIK 8 @0, KCV @8 | MAK 8 @12, KCV @20. Single-DES keys.
 *   'double'      60 bytes (60.3 = 004): PIK 16 @0, KCV @16 | MAK 16 @20, KCV @36 | TDK 16 @40, KCV @56.
 *                 All double-length (two-key 3DES). 40 bytes (60.3 = 003) is the same without the TDK.
 *   'double-mak8' Same bytes as 'double', but only the first 8 encrypted bytes of the MAK slot are
 *                 used: they decrypt to a single-DES MAK and the KCV is that single-DES key's check
 *                 value. Many UnionPay terminals work this way (e.g. the LiaoYang_POS LogonDivKey code
 *                 cited in test/vectors/mac.json); the second 8 bytes of the slot are ignored.
 *                 `wrapWorkingKeys` fills them with the first 8 again, i.e. it sends the MAK as K|K,
 *                 which a terminal reading a full double-length MAK treats as the same single-DES key.
 *
 * The TMK may be 8, 16 or 24 bytes in any layout.
 *
 * Under the SM4 key scheme (key-scheme.ts) the 'double' layout is used as is: the 16-byte slots hold
 * SM4 keys, each encrypted (one SM4-ECB block) under the 16-byte SM4 master key, and each KCV is the
 * leftmost 4 bytes of SM4_K(16 zero bytes). 'single' and 'double-mak8' have no SM4 form. Clear keys come back as `SensitiveBytes`; errors name
 * the key (`kcv_mismatch` with `key: 'mak'`) but never carry key bytes or check values.
 */
import { randomBytes } from 'node:crypto';
import { SensitiveBytes } from '../card/index.js';
import { constantTimeEqual, viewOf, type BytesInput } from './bytes.js';
import { randomDesKeyBytes, type DesKeyLength, type KeyInput } from './des-key.js';
import { CryptoError } from './errors.js';
import { schemeKey, type KeyScheme, type SchemeKey } from './key-scheme.js';
import { SM4_KEY_LENGTH } from './sm4.js';

export type WorkingKeyLayout = 'single' | 'double' | 'double-mak8';
export type WorkingKeyName = 'pik' | 'mak' | 'tdk';

export const WORKING_KEY_LAYOUTS: readonly WorkingKeyLayout[] = ['single', 'double', 'double-mak8'];

/** Bytes of each KCV in field 62. */
export const FIELD62_KCV_LENGTH = 4;

interface Slot {
  key: WorkingKeyName;
  offset: number;
  /** Bytes the slot occupies before its KCV. */
  size: 8 | 16;
  /** Bytes of the slot that are the encrypted key actually used (8 for the MAK in 'double-mak8'). */
  use: 8 | 16;
}

interface LayoutSpec {
  /** Accepted field lengths; slots that end beyond the field are absent (the TDK in a 40-byte field). */
  lengths: readonly number[];
  slots: readonly Slot[];
}

const LAYOUTS: Record<WorkingKeyLayout, LayoutSpec> = {
  single: {
    lengths: [24],
    slots: [
      { key: 'pik', offset: 0, size: 8, use: 8 },
      { key: 'mak', offset: 12, size: 8, use: 8 },
    ],
  },
  double: {
    lengths: [40, 60],
    slots: [
      { key: 'pik', offset: 0, size: 16, use: 16 },
      { key: 'mak', offset: 20, size: 16, use: 16 },
      { key: 'tdk', offset: 40, size: 16, use: 16 },
    ],
  },
  'double-mak8': {
    lengths: [40, 60],
    slots: [
      { key: 'pik', offset: 0, size: 16, use: 16 },
      { key: 'mak', offset: 20, size: 16, use: 8 },
      { key: 'tdk', offset: 40, size: 16, use: 16 },
    ],
  },
};

export interface WorkingKeys {
  pik: SensitiveBytes;
  mak: SensitiveBytes;
  tdk?: SensitiveBytes;
}

export interface WorkingKeysInput {
  pik: BytesInput;
  mak: BytesInput;
  tdk?: BytesInput;
}

/** KCVs as uppercase hex (8 characters for 4 bytes). */
export interface WorkingKeyCheckValues {
  pik: string;
  mak: string;
  tdk?: string;
}

export interface UnwrappedWorkingKeys extends WorkingKeys {
  kcv: WorkingKeyCheckValues;
}

export function isWorkingKeyLayout(value: unknown): value is WorkingKeyLayout {
  return typeof value === 'string' && (WORKING_KEY_LAYOUTS as readonly string[]).includes(value);
}

/** Key length each working key has in `layout` (the MAK is 8 bytes in 'single' and 'double-mak8'). */
export function workingKeyLength(layout: WorkingKeyLayout, key: WorkingKeyName): DesKeyLength | undefined {
  return spec(layout).slots.find((s) => s.key === key)?.use;
}

/**
 * Decrypts the working keys in `field62` under the TMK and verifies each KCV. Throws `bad_layout`,
 * `bad_field62` (wrong length) or `kcv_mismatch` naming the first key whose check value differs.
 */
export function unwrapWorkingKeys(
  tmk: KeyInput | SchemeKey,
  field62: Uint8Array,
  layout: WorkingKeyLayout,
  scheme: KeyScheme = 'des',
): UnwrappedWorkingKeys {
  const s = spec(layout, scheme);
  if (!s.lengths.includes(field62.length)) {
    throw new CryptoError('bad_field62', `field 62 has the wrong length for the '${layout}' layout`, {
      expected: s.lengths.join(' or '),
      actual: field62.length,
    });
  }
  const master = schemeKey(scheme, tmk, 'tmk');
  const field = Buffer.from(field62.buffer, field62.byteOffset, field62.byteLength);
  const keys: Partial<Record<WorkingKeyName, SensitiveBytes>> = {};
  const kcv: Partial<Record<WorkingKeyName, string>> = {};
  try {
    for (const slot of s.slots) {
      if (slot.offset + slot.size + FIELD62_KCV_LENGTH > field.length) continue;
      const clear = master.decryptEcb(field.subarray(slot.offset, slot.offset + slot.use));
      try {
        const got = schemeKey(scheme, clear, slot.key).checkValue(FIELD62_KCV_LENGTH);
        const kcvAt = slot.offset + slot.size;
        const sent = field.subarray(kcvAt, kcvAt + FIELD62_KCV_LENGTH);
        if (!constantTimeEqual(got, sent)) {
          throw new CryptoError('kcv_mismatch', `the ${slot.key.toUpperCase()} check value does not match`, {
            key: slot.key,
          });
        }
        keys[slot.key] = SensitiveBytes.from(clear, slot.key);
        kcv[slot.key] = got.toString('hex').toUpperCase();
      } finally {
        clear.fill(0);
      }
    }
  } catch (err) {
    for (const k of Object.values(keys)) k.wipe();
    throw err;
  }
  const { pik, mak, tdk } = keys;
  if (!pik || !mak || kcv.pik === undefined || kcv.mak === undefined) {
    throw new CryptoError('bad_field62', 'field 62 holds no PIK and MAK');
  }
  const out: UnwrappedWorkingKeys = { pik, mak, kcv: { pik: kcv.pik, mak: kcv.mak } };
  if (tdk && kcv.tdk !== undefined) {
    out.tdk = tdk;
    out.kcv.tdk = kcv.tdk;
  }
  return out;
}

/**
 * The inverse, for the host simulator: encrypts each key under the TMK and appends its KCV. With a
 * TDK the double layouts give 60 bytes, without one 40 bytes; 'single' takes no TDK.
 */
export function wrapWorkingKeys(
  tmk: KeyInput | SchemeKey,
  keys: WorkingKeysInput,
  layout: WorkingKeyLayout,
  scheme: KeyScheme = 'des',
): Buffer {
  const s = spec(layout, scheme);
  const hasTdk = keys.tdk !== undefined;
  const total = layout === 'single' ? 24 : hasTdk ? 60 : 40;
  if (layout === 'single' && hasTdk) {
    throw new CryptoError('bad_layout', "the 'single' layout carries no TDK");
  }
  const master = schemeKey(scheme, tmk, 'tmk');
  const out = Buffer.alloc(total);
  for (const slot of s.slots) {
    const input = keys[slot.key];
    if (input === undefined) continue;
    const { bytes, owned } = viewOf(input);
    try {
      if (bytes.length !== slot.use) {
        throw new CryptoError(
          'bad_key_length',
          `the ${slot.key.toUpperCase()} must be ${slot.use} bytes in the '${layout}' layout`,
          {
            key: slot.key,
            expected: slot.use,
            actual: bytes.length,
          },
        );
      }
      const enc = master.encryptEcb(bytes);
      enc.copy(out, slot.offset);
      if (slot.size > slot.use) enc.copy(out, slot.offset + slot.use);
      schemeKey(scheme, bytes, slot.key)
        .checkValue(FIELD62_KCV_LENGTH)
        .copy(out, slot.offset + slot.size);
    } finally {
      if (owned) bytes.fill(0);
    }
  }
  return out;
}

/** Fresh random working keys (odd parity) with the lengths `layout` uses. */
export function generateWorkingKeys(
  layout: WorkingKeyLayout,
  options: { withTdk?: boolean; scheme?: KeyScheme } = {},
): WorkingKeys {
  const scheme = options.scheme ?? 'des';
  const s = spec(layout, scheme);
  const withTdk = layout !== 'single' && options.withTdk !== false;
  const out: Partial<Record<WorkingKeyName, SensitiveBytes>> = {};
  for (const slot of s.slots) {
    if (slot.key === 'tdk' && !withTdk) continue;
    // SM4 keys have no parity: any 16 random bytes.
    const bytes = scheme === 'sm4' ? randomBytes(SM4_KEY_LENGTH) : randomDesKeyBytes(slot.use);
    out[slot.key] = SensitiveBytes.adopt(bytes, slot.key);
  }
  const { pik, mak, tdk } = out;
  if (!pik || !mak) throw new Error('unreachable: every layout has a PIK and a MAK');
  return tdk ? { pik, mak, tdk } : { pik, mak };
}

/** Wipes every key of `keys`. */
export function wipeWorkingKeys(keys: WorkingKeys): void {
  keys.pik.wipe();
  keys.mak.wipe();
  keys.tdk?.wipe();
}

function spec(layout: WorkingKeyLayout, scheme: KeyScheme = 'des'): LayoutSpec {
  if (scheme === 'sm4' && layout !== 'double') {
    throw new CryptoError('bad_layout', "SM4 working keys use the 'double' layout (16-byte slots)", {
      expected: 'double',
      actual: typeof layout === 'string' ? layout : typeof layout,
    });
  }
  if (!isWorkingKeyLayout(layout)) {
    throw new CryptoError('bad_layout', 'unknown working key layout', {
      expected: WORKING_KEY_LAYOUTS.join(', '),
      actual: typeof layout === 'string' ? layout : typeof layout,
    });
  }
  return LAYOUTS[layout];
}
