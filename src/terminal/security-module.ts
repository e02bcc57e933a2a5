/**
 * The reader as `SecurityModule`: the working keys are loaded into the reader still encrypted under
 * its master key (field 62 as the host sent it), MACs are computed and verified by the reader, and key
 * check values come from the reader. posbridge never holds a clear key in this mode. Track and PIN
 * encryption happen inside the reader during the transaction, so the optional methods are absent.
 */
import {
  CryptoError,
  isMacAlgorithm,
  requireKeyScheme,
  type KeyCheckValues,
  type KeyScheme,
  type MacAlgorithm,
  type MacOptions,
  type SecurityModule,
  type WorkingKeyLayout,
} from '../crypto/index.js';
import { ReaderError } from './errors.js';
import {
  KEY_LAYOUT_CODES,
  KEY_NAME_CODES,
  KEY_SCHEME_CODES,
  MAC_ALGORITHM_CODES,
  type Payload,
  type TagValue,
} from './payload.js';
import type { CommandName, StatusName, TagName } from './profile.js';

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

/** What the security module needs from the driver. */
export interface ReaderCommandPort {
  command(
    name: CommandName,
    entries: ReadonlyArray<readonly [TagName, TagValue | undefined]>,
    options?: { timeoutMs?: number },
  ): Promise<{ status: StatusName; payload: Payload }>;
  /** Told after the reader accepted new working keys (the driver reloads them after a reader restart). */
  onKeysLoaded?(field62: Buffer, layout: WorkingKeyLayout, kcv: KeyCheckValues): void;
}

export class ReaderSecurityModule implements SecurityModule {
  readonly macAlgorithm: MacAlgorithm;
  /**
   * The cipher of the reader's master key and working keys: 'des' (DES/3DES) or 'sm4' (the dialect's
   * sign-on says which). load_keys names it (`key_scheme`, sent only for SM4 so DES readers see the
   * bytes they always saw); the reader's MAC and PIN block then follow the loaded keys' scheme.
   */
  readonly keyScheme: KeyScheme;

  constructor(
    private readonly port: ReaderCommandPort,
    macAlgorithm: MacAlgorithm,
    keyScheme: KeyScheme = 'des',
  ) {
    if (!isMacAlgorithm(macAlgorithm)) {
      throw new CryptoError('bad_algorithm', 'unknown MAC algorithm', {
        actual: String(macAlgorithm as unknown),
      });
    }
    // SM4 needs OpenSSL's SM4 here too: the host's MAC check of responses happens in the reader, but
    // a daemon that cannot say what SM4 is should refuse at start-up, not at the first sale.
    this.keyScheme = requireKeyScheme(keyScheme);
    if (this.keyScheme === 'sm4' && macAlgorithm !== 'cup-ecb')
      throw new CryptoError('bad_algorithm', 'the SM4 key scheme has only the UnionPay (cup-ecb) MAC', {
        expected: 'cup-ecb',
        actual: macAlgorithm,
      });
    this.macAlgorithm = macAlgorithm;
  }

  /**
   * With `options.ksn` the reader MACs with its DUKPT transaction's request key (the KSN it gave with
   * the PIN block); `verifyMac` then checks with the response key. The reader refuses another KSN.
   */
  async mac(data: Buffer, options: MacOptions = {}): Promise<Buffer> {
    const res = await this.port.command('mac', [
      ['mac_algorithm', MAC_ALGORITHM_CODES[this.macAlgorithm]],
      ['mac_data', data],
      ['ksn', options.ksn ? Buffer.from(options.ksn) : undefined],
    ]);
    this.check('mac', res.status);
    const mac = res.payload.require('mac');
    if (mac.length !== 8) throw res.payload.error('mac', 'bad_value', 'a MAC is 8 bytes');
    return Buffer.from(mac);
  }

  async verifyMac(data: Buffer, mac: Buffer, options: MacOptions = {}): Promise<boolean> {
    if (!Buffer.isBuffer(mac) || mac.length !== 8) return false;
    const res = await this.port.command('verify_mac', [
      ['mac_algorithm', MAC_ALGORITHM_CODES[this.macAlgorithm]],
      ['mac_data', data],
      ['mac', mac],
      ['ksn', options.ksn ? Buffer.from(options.ksn) : undefined],
    ]);
    this.check('verify_mac', res.status);
    return res.payload.requireByte('mac_valid') === 1;
  }

  async loadWorkingKeys(field62: Buffer, layout: WorkingKeyLayout): Promise<KeyCheckValues> {
    const code = KEY_LAYOUT_CODES[layout];
    if (code === undefined)
      throw new CryptoError('bad_layout', 'unknown working key layout', { actual: String(layout) });
    const res = await this.port.command('load_keys', [
      ['field62', field62],
      ['key_layout', code],
      ['key_scheme', this.keyScheme === 'des' ? undefined : KEY_SCHEME_CODES[this.keyScheme]],
    ]);
    if (res.status === 'key_error') {
      const failed = res.payload.code('failed_key', KEY_NAME_CODES);
      throw new CryptoError(
        'kcv_mismatch',
        `the reader rejected the ${failed ? failed.toUpperCase() : 'working key'} (check value)`,
        {
          key: failed ?? 'key',
        },
      );
    }
    if (res.status === 'bad_request')
      throw new CryptoError('bad_field62', 'the reader rejected field 62 (length or layout)');
    this.check('load_keys', res.status);
    const kcv = readKcv(res.payload);
    this.port.onKeysLoaded?.(field62, layout, kcv);
    return kcv;
  }

  async keyCheckValues(): Promise<KeyCheckValues> {
    const res = await this.port.command('device_info', []);
    this.check('device_info', res.status);
    return readKcv(res.payload);
  }

  private check(command: CommandName, status: StatusName): void {
    if (status === 'ok') return;
    if (status === 'no_keys')
      throw new CryptoError('no_working_keys', 'the reader holds no working keys (sign on first)');
    throw new ReaderError(
      status === 'busy' ? 'reader_busy' : 'reader_refused',
      `${command}: reader answered ${status}`,
      {
        reason: 'reader_status',
        command,
        status,
      },
    );
  }

  toString(): string {
    return `ReaderSecurityModule(${this.keyScheme === 'sm4' ? 'sm4, ' : ''}${this.macAlgorithm})`;
  }

  toJSON(): Record<string, unknown> {
    return { macAlgorithm: this.macAlgorithm, keyScheme: this.keyScheme, keys: 'held by the reader' };
  }

  [inspectSymbol](): string {
    return this.toString();
  }
}

function readKcv(p: Payload): KeyCheckValues {
  const hex = (name: TagName): string | undefined => {
    const v = p.get(name);
    return v && v.length ? v.toString('hex').toUpperCase() : undefined;
  };
  const out: KeyCheckValues = { tmk: hex('kcv_tmk') ?? '' };
  const pik = hex('kcv_pik');
  const mak = hex('kcv_mak');
  const tdk = hex('kcv_tdk');
  if (pik) out.pik = pik;
  if (mak) out.mak = mak;
  if (tdk) out.tdk = tdk;
  return out;
}
