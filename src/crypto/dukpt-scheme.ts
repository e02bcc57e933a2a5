/**
 * Which DUKPT a KSN belongs to (ANSI X9.24-1 TDES: 10 bytes; X9.24-3 AES: 12 bytes) and its counter.
 * Kept apart from the PIN and MAC code so both can use it.
 */
import { DUKPT_KSN_LENGTH, parseKsn } from './dukpt.js';
import { AES_DUKPT_KSN_LENGTH, parseAesKsn } from './dukpt-aes.js';
import { CryptoError } from './errors.js';

export type DukptScheme = 'dukpt-tdes' | 'dukpt-aes';
/** How a reader encrypts PINs: under the session PIK from sign-on, or per transaction with DUKPT. */
export type PinKeyScheme = 'session' | DukptScheme;

export const PIN_KEY_SCHEMES: readonly PinKeyScheme[] = ['session', 'dukpt-tdes', 'dukpt-aes'];

export function isPinKeyScheme(value: unknown): value is PinKeyScheme {
  return typeof value === 'string' && (PIN_KEY_SCHEMES as readonly string[]).includes(value);
}

/** The scheme a KSN belongs to, from its length (10 bytes TDES, 12 bytes AES); `bad_data` otherwise. */
export function dukptSchemeOfKsn(ksn: Uint8Array): DukptScheme {
  if (ksn.length === DUKPT_KSN_LENGTH) return 'dukpt-tdes';
  if (ksn.length === AES_DUKPT_KSN_LENGTH) return 'dukpt-aes';
  throw new CryptoError('bad_data', 'a KSN is 10 bytes (TDES DUKPT) or 12 bytes (AES DUKPT)', {
    expected: '10 or 12',
    actual: ksn.length,
    reason: 'bad_ksn',
  });
}

/** The transaction counter of a KSN of either scheme. */
export function dukptCounter(ksn: Uint8Array): number {
  return dukptSchemeOfKsn(ksn) === 'dukpt-tdes' ? parseKsn(ksn).counter : parseAesKsn(ksn).counter;
}

