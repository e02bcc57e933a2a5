/**
 * `SecurityModule` in software: for the simulators, tests, and acquirers that run without a secure
 * reader. The master key and working keys live in `DesKey`s (private fields, masked text forms);
 * the module itself prints as its algorithm and whether keys are loaded.
 */
import type { Pan, SensitiveBytes } from '../card/index.js';
import { constantTimeEqual, type BytesInput } from './bytes.js';
import { DesKey } from './des-key.js';
import { CryptoError } from './errors.js';
import type { KcvLength } from './kcv.js';
import { computeMac, isMacAlgorithm, macKeyLengths, MAC_ALGORITHMS, type MacAlgorithm } from './mac.js';
import { encryptPinBlockIso0, verifyPinBlockIso0, type PanInput, type PinInput } from './pin-block.js';
import type { KeyCheckValues, SecurityModule } from './security-module.js';
import { decryptTrackData, encryptTrackData } from './track.js';
import { unwrapWorkingKeys, wipeWorkingKeys, type WorkingKeyLayout } from './working-keys.js';

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

export interface SoftwareSecurityModuleOptions {
  macAlgorithm: MacAlgorithm;
  /** Bytes of each check value `keyCheckValues()` reports: 3 or 4 (default 4, as in field 62). */
  kcvLength?: KcvLength;
}

interface LoadedKeys {
  layout: WorkingKeyLayout;
  pik: DesKey;
  mak: DesKey;
  tdk: DesKey | undefined;
}

export class SoftwareSecurityModule implements SecurityModule {
  readonly macAlgorithm: MacAlgorithm;
  readonly #tmk: DesKey;
  readonly #kcvLength: KcvLength;
  #keys: LoadedKeys | undefined;

  /**
   * @param masterKey the terminal master key (8, 16 or 24 bytes). It is copied: a Buffer passed in
   * stays the caller's to wipe.
   */
  constructor(masterKey: SensitiveBytes | Uint8Array, options: SoftwareSecurityModuleOptions) {
    if (!isMacAlgorithm(options.macAlgorithm)) {
      throw new CryptoError('bad_algorithm', 'unknown MAC algorithm', {
        expected: MAC_ALGORITHMS.join(', '),
        actual: String(options.macAlgorithm as unknown),
      });
    }
    const kcvLength = options.kcvLength ?? 4;
    if (kcvLength !== 3 && kcvLength !== 4) {
      throw new CryptoError('bad_data', 'kcvLength must be 3 or 4', { actual: String(kcvLength as unknown) });
    }
    this.macAlgorithm = options.macAlgorithm;
    this.#kcvLength = kcvLength;
    this.#tmk = DesKey.from(masterKey, 'tmk');
  }

  get hasWorkingKeys(): boolean {
    return this.#keys !== undefined;
  }

  /** The layout of the loaded working keys, if any. */
  get workingKeyLayout(): WorkingKeyLayout | undefined {
    return this.#keys?.layout;
  }

  async mac(data: Buffer): Promise<Buffer> {
    return computeMac(this.macAlgorithm, this.#loaded().mak, data);
  }

  async verifyMac(data: Buffer, mac: Buffer): Promise<boolean> {
    const expected = computeMac(this.macAlgorithm, this.#loaded().mak, data);
    return constantTimeEqual(expected, mac);
  }

  async loadWorkingKeys(field62: Buffer, layout: WorkingKeyLayout): Promise<KeyCheckValues> {
    const clear = unwrapWorkingKeys(this.#tmk, field62, layout);
    try {
      const allowed = macKeyLengths(this.macAlgorithm);
      if (!allowed.includes(clear.mak.length)) {
        throw new CryptoError(
          'bad_key_length',
          `the '${layout}' layout gives a ${clear.mak.length}-byte MAK, ${this.macAlgorithm} needs ${allowed.join(' or ')} bytes`,
          { key: 'mak', expected: allowed.join(' or '), actual: clear.mak.length },
        );
      }
      const next: LoadedKeys = {
        layout,
        pik: DesKey.from(clear.pik, 'pik'),
        mak: DesKey.from(clear.mak, 'mak'),
        tdk: clear.tdk ? DesKey.from(clear.tdk, 'tdk') : undefined,
      };
      this.#destroyKeys();
      this.#keys = next;
    } finally {
      wipeWorkingKeys(clear);
    }
    return this.keyCheckValues();
  }

  async keyCheckValues(): Promise<KeyCheckValues> {
    const hex = (k: DesKey): string => k.checkValue(this.#kcvLength).toString('hex').toUpperCase();
    const out: KeyCheckValues = { tmk: hex(this.#tmk) };
    const keys = this.#keys;
    if (keys) {
      out.pik = hex(keys.pik);
      out.mak = hex(keys.mak);
      if (keys.tdk) out.tdk = hex(keys.tdk);
    }
    return out;
  }

  async encryptTrack(track: SensitiveBytes): Promise<SensitiveBytes> {
    return encryptTrackData(this.#trackKey(), track);
  }

  async decryptTrack(track: SensitiveBytes): Promise<SensitiveBytes> {
    return decryptTrackData(this.#trackKey(), track);
  }

  async encryptPinBlock(pin: PinInput, pan: Pan | string): Promise<SensitiveBytes> {
    return encryptPinBlockIso0(pin, pan, this.#loaded().pik);
  }

  /** Host simulator: does the encrypted PIN block hold `expectedPin`? (`bad_pin_block` if unreadable.) */
  async verifyPinBlock(encrypted: BytesInput, pan: PanInput, expectedPin: PinInput): Promise<boolean> {
    return verifyPinBlockIso0(encrypted, pan, this.#loaded().pik, expectedPin);
  }

  /** Forgets the working keys (sign-off); `mac` then rejects with `no_working_keys` until the next load. */
  clearWorkingKeys(): void {
    this.#destroyKeys();
  }

  toString(): string {
    return `SoftwareSecurityModule(${this.macAlgorithm}, ${this.#keys ? `working keys loaded (${this.#keys.layout})` : 'no working keys'})`;
  }

  toJSON(): Record<string, unknown> {
    return {
      macAlgorithm: this.macAlgorithm,
      hasWorkingKeys: this.hasWorkingKeys,
      layout: this.#keys?.layout,
    };
  }

  [inspectSymbol](): string {
    return this.toString();
  }

  #loaded(): LoadedKeys {
    if (!this.#keys) throw new CryptoError('no_working_keys', 'no working keys loaded (sign on first)');
    return this.#keys;
  }

  #trackKey(): DesKey {
    const tdk = this.#loaded().tdk;
    if (!tdk) throw new CryptoError('no_track_key', 'the loaded working keys have no TDK', { key: 'tdk' });
    return tdk;
  }

  #destroyKeys(): void {
    const keys = this.#keys;
    this.#keys = undefined;
    keys?.pik.destroy();
    keys?.mak.destroy();
    keys?.tdk?.destroy();
  }
}
