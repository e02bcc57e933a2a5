/**
 * The security module boundary. Everything that needs a working key (MAC, track and PIN encryption)
 * goes through this interface, asynchronously, so that a card reader (or an HSM) that holds the keys
 * can implement it as well as the software module below it. Key bytes never cross it: only data,
 * MACs, encrypted values and key check values.
 */
import type { Pan, SensitiveBytes } from '../card/index.js';
import type { KeyScheme } from './key-scheme.js';
import type { MacAlgorithm } from './mac.js';
import type { WorkingKeyLayout } from './working-keys.js';

/** Key check values as uppercase hex (8 characters for 4-byte KCVs). Present for loaded keys only. */
export interface KeyCheckValues {
  tmk: string;
  pik?: string;
  mak?: string;
  tdk?: string;
}

/**
 * Per-transaction MAC keys (ANSI X9.24 DUKPT): the message carries the KSN of the PIN pad's current
 * transaction, and that transaction's MAC keys replace the session MAK: the request key for `mac`,
 * the response key for `verifyMac`. X9.19 under TDES DUKPT, AES-CMAC under AES DUKPT; 8 bytes.
 */
export interface MacOptions {
  ksn?: Uint8Array;
}

export interface SecurityModule {
  /** The MAC algorithm `mac` and `verifyMac` apply (acquirer configuration). */
  readonly macAlgorithm: MacAlgorithm;

  /**
   * The block cipher of the master and working keys, PIN block and MAC: 'des' (also when absent) or
   * 'sm4'. The host link refuses a dialect whose sign-on delivers keys of another scheme.
   */
  readonly keyScheme?: KeyScheme;

  /**
   * MAC over `data` (for UnionPay POS: the message from the MTI through the end of field 63) with the
   * working MAK. 'cup-ecb' gives the 8 ASCII hex bytes of field 64; 'x9.19' and 'x9.9' 8 binary bytes.
   * Rejects with `no_working_keys` before a successful `loadWorkingKeys`.
   * With `options.ksn` (a DUKPT device's KSN the message carries) the MAC is the request MAC of that
   * transaction's DUKPT key instead (see `MacOptions`); a module without a DUKPT key rejects.
   */
  mac(data: Buffer, options?: MacOptions): Promise<Buffer>;

  /**
   * Recomputes the MAC and compares in constant time; false for a wrong MAC or a wrong length. With
   * `options.ksn`, the response MAC of that DUKPT transaction.
   */
  verifyMac(data: Buffer, mac: Buffer, options?: MacOptions): Promise<boolean>;

  /**
   * Decrypts the working keys from sign-on field 62 under the master key, verifies every KCV and
   * replaces the current working keys only when all of them check (`kcv_mismatch` names the key and
   * leaves the previous keys in place). Resolves to the new check values.
   */
  loadWorkingKeys(field62: Buffer, layout: WorkingKeyLayout): Promise<KeyCheckValues>;

  /** Check values of the master key and of the loaded working keys. */
  keyCheckValues(): Promise<KeyCheckValues>;

  /** UnionPay track encryption with the TDK (see track.ts); `no_track_key` without a TDK. */
  encryptTrack?(track: SensitiveBytes): Promise<SensitiveBytes>;
  decryptTrack?(track: SensitiveBytes): Promise<SensitiveBytes>;

  /**
   * The PIN block encrypted under the PIK (what a PIN pad sends in field 52): ISO 9564 format 0 under
   * DES/3DES, the 16-byte SM4 block under 'sm4' (sm4-pin-block.ts).
   */
  encryptPinBlock?(pin: string | SensitiveBytes, pan: Pan | string): Promise<SensitiveBytes>;
}
