/**
 * `SecurityModule` in software: for the simulators, tests, and acquirers that run without a secure
 * reader. The master key and working keys live in `DesKey`s, or `Sm4Key`s under the SM4 key scheme
 * (private fields, masked text forms); the module itself prints as its algorithm and whether keys are
 * loaded. An SM4 module checks at construction that this OpenSSL has SM4 (`bad_algorithm`, reason
 * `unsupported`, otherwise).
 */
import type { Pan, SensitiveBytes } from '../card/index.js';
import { constantTimeEqual, type BytesInput } from './bytes.js';
import { DesKey } from './des-key.js';
import { CryptoError } from './errors.js';
import type { GmSupport } from './gm-support.js';
import type { KcvLength } from './kcv.js';
import {
  encryptSchemePinBlock,
  requireKeyScheme,
  schemeKey,
  schemeMac,
  verifySchemePinBlock,
  type KeyScheme,
  type SchemeKey,
} from './key-scheme.js';
import { isMacAlgorithm, macKeyLengths, MAC_ALGORITHMS, type MacAlgorithm } from './mac.js';
import type { PanInput, PinInput } from './pin-block.js';
import type { DukptPinPad } from './dukpt-pin.js';
import type { KeyCheckValues, MacOptions, SecurityModule } from './security-module.js';
import { decryptTrackData, encryptTrackData } from './track.js';
import { unwrapWorkingKeys, wipeWorkingKeys, type WorkingKeyLayout } from './working-keys.js';

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

export interface SoftwareSecurityModuleOptions {
  macAlgorithm: MacAlgorithm;
  /** Bytes of each check value `keyCheckValues()` reports: 3 or 4 (default 4, as in field 62). */
  kcvLength?: KcvLength;
  /** 'des' (default) or 'sm4': the master key, working keys, PIN block and MAC all follow it. */
  keyScheme?: KeyScheme;
  /** What OpenSSL offers (tests inject a build without SM4); `gmSupport()` when absent. */
  gmSupport?: GmSupport;
  /**
   * A software DUKPT PIN pad (tests, a terminal without a reader): MACs of messages that carry its
   * KSN use its current transaction's keys. Without one, a MAC with a KSN rejects (`bad_algorithm`).
   */
  dukpt?: DukptPinPad;
}

interface LoadedKeys {
  layout: WorkingKeyLayout;
  pik: SchemeKey;
  mak: SchemeKey;
  tdk: SchemeKey | undefined;
}

export class SoftwareSecurityModule implements SecurityModule {
  readonly macAlgorithm: MacAlgorithm;
  readonly keyScheme: KeyScheme;
  readonly #tmk: SchemeKey;
  readonly #kcvLength: KcvLength;
  #keys: LoadedKeys | undefined;
  readonly #pad: DukptPinPad | undefined;

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
    const scheme = requireKeyScheme(options.keyScheme ?? 'des', options.gmSupport);
    if (scheme === 'sm4' && options.macAlgorithm !== 'cup-ecb') {
      throw new CryptoError('bad_algorithm', 'the SM4 key scheme has only the UnionPay (cup-ecb) MAC', {
        expected: 'cup-ecb',
        actual: options.macAlgorithm,
      });
    }
    this.macAlgorithm = options.macAlgorithm;
    this.keyScheme = scheme;
    this.#kcvLength = kcvLength;
    this.#tmk = schemeKey(scheme, masterKey, 'tmk');
    this.#pad = options.dukpt;
  }

  #dukpt(ksn: Uint8Array): DukptPinPad {
    if (this.#pad) return this.#pad;
    throw new CryptoError('bad_algorithm', 'this security module holds no DUKPT key for a KSN-MACed message', {
      expected: 'a DUKPT PIN pad (the reader computes DUKPT MACs)',
      actual: `KSN of ${ksn.length} bytes`,
    });
  }

  get hasWorkingKeys(): boolean {
    return this.#keys !== undefined;
  }

  /** The layout of the loaded working keys, if any. */
  get workingKeyLayout(): WorkingKeyLayout | undefined {
    return this.#keys?.layout;
  }

  async mac(data: Buffer, options: MacOptions = {}): Promise<Buffer> {
    if (options.ksn) return this.#dukpt(options.ksn).mac(options.ksn, data, 'request');
    return schemeMac(this.keyScheme, this.macAlgorithm, this.#loaded().mak, data);
  }

  async verifyMac(data: Buffer, mac: Buffer, options: MacOptions = {}): Promise<boolean> {
    if (options.ksn) return this.#dukpt(options.ksn).verifyMac(options.ksn, data, mac, 'response');
    const expected = schemeMac(this.keyScheme, this.macAlgorithm, this.#loaded().mak, data);
    return constantTimeEqual(expected, mac);
  }

  async loadWorkingKeys(field62: Buffer, layout: WorkingKeyLayout): Promise<KeyCheckValues> {
    const scheme = this.keyScheme;
    const clear = unwrapWorkingKeys(this.#tmk, field62, layout, scheme);
    try {
      const allowed = scheme === 'sm4' ? [16] : macKeyLengths(this.macAlgorithm);
      if (!allowed.includes(clear.mak.length)) {
        throw new CryptoError(
          'bad_key_length',
          `the '${layout}' layout gives a ${clear.mak.length}-byte MAK, ${this.macAlgorithm} needs ${allowed.join(' or ')} bytes`,
          { key: 'mak', expected: allowed.join(' or '), actual: clear.mak.length },
        );
      }
      const next: LoadedKeys = {
        layout,
        pik: schemeKey(scheme, clear.pik, 'pik'),
        mak: schemeKey(scheme, clear.mak, 'mak'),
        tdk: clear.tdk ? schemeKey(scheme, clear.tdk, 'tdk') : undefined,
      };
      this.#destroyKeys();
      this.#keys = next;
    } finally {
      wipeWorkingKeys(clear);
    }
    return this.keyCheckValues();
  }

  async keyCheckValues(): Promise<KeyCheckValues> {
    const hex = (k: SchemeKey): string => k.checkValue(this.#kcvLength).toString('hex').toUpperCase();
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
    return encryptSchemePinBlock(this.keyScheme, pin, pan, this.#loaded().pik);
  }

  /** Host simulator: does the encrypted PIN block hold `expectedPin`? (`bad_pin_block` if unreadable.) */
  async verifyPinBlock(encrypted: BytesInput, pan: PanInput, expectedPin: PinInput): Promise<boolean> {
    return verifySchemePinBlock(this.keyScheme, encrypted, pan, this.#loaded().pik, expectedPin);
  }

  /** Forgets the working keys (sign-off); `mac` then rejects with `no_working_keys` until the next load. */
  clearWorkingKeys(): void {
    this.#destroyKeys();
  }

  toString(): string {
    return `SoftwareSecurityModule(${this.keyScheme === 'sm4' ? 'sm4, ' : ''}${this.macAlgorithm}, ${this.#keys ? `working keys loaded (${this.#keys.layout})` : 'no working keys'})`;
  }

  toJSON(): Record<string, unknown> {
    return {
      keyScheme: this.keyScheme,
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
    // UnionPay track encryption (track.ts) is defined for 3DES only; no SM4 form was found.
    if (!(tdk instanceof DesKey))
      throw new CryptoError('bad_algorithm', 'track encryption has no SM4 form here', {
        key: 'tdk',
        reason: 'key_scheme',
      });
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
