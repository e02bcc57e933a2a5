/**
 * Key schemes: which block cipher the terminal master key, the sign-on working keys, the PIN block and
 * the MAC use. 'des' is DES/3DES (8/16/24-byte keys, 8-byte blocks, `mac.ts`, format-0 PIN block);
 * 'sm4' is the UnionPay national-algorithm scheme (16-byte SM4 keys and blocks, the UnionPay SM4 MAC,
 * the 16-byte SM4 PIN block of sm4-pin-block.ts). The acquirer's dialect selects it
 * (`exchanges.signOn.keyScheme`); DUKPT readers are a per-reader choice instead (profile `pinKeyScheme`).
 */
import type { Pan, SensitiveBytes } from '../card/index.js';
import type { BytesInput } from './bytes.js';
import { DesKey } from './des-key.js';
import { CryptoError, type KeyRole } from './errors.js';
import { gmSupport, requireGm, type GmSupport } from './gm-support.js';
import { computeMac, type MacAlgorithm } from './mac.js';
import { encryptPinBlockIso0, verifyPinBlockIso0, type PanInput, type PinInput } from './pin-block.js';
import { Sm4Key } from './sm4-key.js';
import { encryptPinBlockSm4, verifyPinBlockSm4 } from './sm4-pin-block.js';

export type KeyScheme = 'des' | 'sm4';

export const KEY_SCHEMES: readonly KeyScheme[] = ['des', 'sm4'];

/** A key of either scheme: the common surface the working-key code uses. */
export type SchemeKey = DesKey | Sm4Key;

export function isKeyScheme(value: unknown): value is KeyScheme {
  return typeof value === 'string' && (KEY_SCHEMES as readonly string[]).includes(value);
}

/**
 * Throws unless `scheme` can run in this process: an unknown name is `bad_algorithm`; 'sm4' without
 * OpenSSL SM4 is `bad_algorithm` with reason `unsupported` and a message naming the OpenSSL version.
 * `support` is injectable for tests.
 */
export function requireKeyScheme(scheme: unknown, support: GmSupport = gmSupport()): KeyScheme {
  if (!isKeyScheme(scheme))
    throw new CryptoError('bad_algorithm', 'unknown key scheme', {
      expected: KEY_SCHEMES.join(', '),
      actual: String(scheme as unknown),
    });
  if (scheme === 'sm4') requireGm('sm4', support);
  return scheme;
}

/** Prepares `bytes` as a key of `scheme` (copied; a prepared key of the right scheme is returned as is). */
export function schemeKey(scheme: KeyScheme, key: BytesInput | SchemeKey, role: KeyRole): SchemeKey {
  if (scheme === 'sm4') {
    if (key instanceof DesKey) throw wrongScheme(role, 'sm4');
    return Sm4Key.from(key, role);
  }
  if (key instanceof Sm4Key) throw wrongScheme(role, 'des');
  return DesKey.from(key, role);
}

/**
 * The MAC `algorithm` under `scheme`. With 'sm4' only 'cup-ecb' exists: the UnionPay SM4 MAC is the
 * same steps as the DES "ECB" MAC with 16-byte blocks (sm4.ts), so a dialect keeps `cup-ecb`.
 */
export function schemeMac(
  scheme: KeyScheme,
  algorithm: MacAlgorithm,
  mak: SchemeKey,
  data: Uint8Array,
): Buffer {
  if (scheme === 'sm4') {
    if (algorithm !== 'cup-ecb')
      throw new CryptoError('bad_algorithm', 'the SM4 key scheme has only the UnionPay (cup-ecb) MAC', {
        expected: 'cup-ecb',
        actual: algorithm,
      });
    return asSm4(mak).cupMac(data);
  }
  return computeMac(algorithm, asDes(mak), data);
}

/** Field 52 for `scheme`: format 0 under DES/3DES (8 bytes) or the 16-byte SM4 block. */
export function encryptSchemePinBlock(
  scheme: KeyScheme,
  pin: PinInput,
  pan: Pan | string,
  pik: SchemeKey,
): SensitiveBytes {
  return scheme === 'sm4'
    ? encryptPinBlockSm4(pin, pan, asSm4(pik))
    : encryptPinBlockIso0(pin, pan, asDes(pik));
}

/** Host side of `encryptSchemePinBlock` (`bad_pin_block` when the block does not decode). */
export function verifySchemePinBlock(
  scheme: KeyScheme,
  encrypted: BytesInput,
  pan: PanInput,
  pik: SchemeKey,
  expectedPin: PinInput,
): boolean {
  return scheme === 'sm4'
    ? verifyPinBlockSm4(encrypted, pan, asSm4(pik), expectedPin)
    : verifyPinBlockIso0(encrypted, pan, asDes(pik), expectedPin);
}

function asSm4(key: SchemeKey): Sm4Key {
  if (!(key instanceof Sm4Key)) throw wrongScheme(key.role, 'sm4');
  return key;
}

function asDes(key: SchemeKey): DesKey {
  if (!(key instanceof DesKey)) throw wrongScheme(key.role, 'des');
  return key;
}

function wrongScheme(role: KeyRole, want: KeyScheme): CryptoError {
  return new CryptoError('bad_algorithm', `the ${role} key is not a ${want} key`, {
    key: role,
    expected: want,
    reason: 'key_scheme',
  });
}
