/**
 * DUKPT PIN encryption end to end, on top of dukpt.ts (ANSI X9.24-1:2009 TDES) and dukpt-aes.ts
 * (X9.24-3:2017 AES-128):
 *  - `DukptPinPad`, the originating device (reader simulator): holds its initial key (IPEK / AES initial
 *    key) and KSN, advances the counter before each PIN (skipping counters with too many one-bits, as
 *    X9.24 does: add the lowest set bit), derives the transaction's PIN key and returns KSN + block.
 *  - `verifyDukptPinBlock` / `decryptDukptPinBlock`, the receiving side (host simulator): BDK + KSN ->
 *    PIN key -> PIN. posbridge itself holds neither the BDK nor a DUKPT key: it forwards the block.
 * Blocks: TDES DUKPT encrypts the ISO 9564 format-0 block (8 bytes) with the PIN variant of the
 * transaction key (3DES-ECB); AES DUKPT enciphers ISO 9564 format 4 (16 bytes) under the AES PIN key
 * (usage 1000). The KSN is not secret; the block and every key are.
 */
import type { Pan, SensitiveBytes } from '../card/index.js';
import { clearCopy, constantTimeEqual, type BytesInput } from './bytes.js';
import {
  checkDukptCounter,
  counterOneBits,
  deriveDukptIpek,
  deriveDukptKey,
  deriveDukptTransactionKey,
  dukptWorkingKey,
  DUKPT_COUNTER_MASK,
  DUKPT_MAX_COUNTER_ONE_BITS,
  ksnWithCounter,
} from './dukpt.js';
import {
  aesDukptWorkingKey,
  AES_DUKPT_MAX_COUNTER_ONE_BITS,
  checkAesDukptCounter,
  deriveAesDukptInitialKey,
  deriveAesDukptKey,
  deriveAesDukptTransactionKey,
  parseAesKsn,
} from './dukpt-aes.js';
import { computeDukptMac, type DukptMacDirection } from './dukpt-mac.js';
import { dukptCounter, dukptSchemeOfKsn, type DukptScheme } from './dukpt-scheme.js';
import { CryptoError } from './errors.js';
import {
  decipherPinBlockIso4,
  decryptPinBlockIso0,
  encipherPinBlockIso4,
  encryptPinBlockIso0,
  type PanInput,
  type PinBlockOptions,
  type PinInput,
} from './pin-block.js';

export { dukptCounter, dukptSchemeOfKsn, isPinKeyScheme, PIN_KEY_SCHEMES } from './dukpt-scheme.js';
export type { DukptScheme, PinKeyScheme } from './dukpt-scheme.js';

/**
 * The device's initial key from the BDK, as a key-injection facility loads it: the TDES IPEK for a
 * 10-byte KSN, the AES initial key for a 12-byte one (its first 8 bytes are the initial key ID).
 */
export function dukptInitialKey(bdk: BytesInput, ksn: Uint8Array): Buffer {
  return dukptSchemeOfKsn(ksn) === 'dukpt-tdes'
    ? deriveDukptIpek(bdk, ksn)
    : deriveAesDukptInitialKey(bdk, parseAesKsn(ksn).initialKeyId);
}

export interface DukptPinPadOptions {
  /** IPEK (TDES, 16 bytes) or AES-128 initial key: what was injected into the device. Copied. */
  initialKey: BytesInput;
  /** The KSN the device was injected with, or its current KSN (the counter of the last PIN). */
  ksn: Uint8Array;
}

/** The originating device (see the module comment). The counter only moves forward. */
export class DukptPinPad {
  readonly scheme: DukptScheme;
  readonly #initialKey: Buffer;
  #ksn: Buffer;

  constructor(options: DukptPinPadOptions) {
    this.scheme = dukptSchemeOfKsn(options.ksn);
    this.#ksn = Buffer.from(options.ksn);
    this.#initialKey = clearCopy(options.initialKey);
    if (this.#initialKey.length !== 16) {
      const actual = this.#initialKey.length;
      this.#initialKey.fill(0);
      throw new CryptoError('bad_key_length', 'a DUKPT initial key is 16 bytes', {
        key: 'pik',
        expected: 16,
        actual,
      });
    }
  }

  /** The KSN of the last transaction (not secret). */
  get ksn(): Buffer {
    return Buffer.from(this.#ksn);
  }

  get counter(): number {
    return dukptCounter(this.#ksn);
  }

  /**
   * Advances to the next usable counter and encrypts the PIN under that transaction's PIN key.
   * `options.random` fixes the format-4 random fill (AES; tests only).
   */
  encryptPin(
    pin: PinInput,
    pan: Pan | string,
    options?: PinBlockOptions,
  ): { ksn: Buffer; pinBlock: SensitiveBytes } {
    const ksn = this.#advance();
    const key = this.#pinKey(ksn);
    try {
      const pinBlock =
        this.scheme === 'dukpt-tdes'
          ? encryptPinBlockIso0(pin, pan, key)
          : encipherPinBlockIso4(pin, pan, key, options);
      return { ksn: Buffer.from(ksn), pinBlock };
    } finally {
      key.fill(0);
    }
  }

  /**
   * The MAC of `data` under the MAC key of the current transaction (the KSN of the last PIN): the
   * request key for a request the device sends, the response key to check the host's answer. X9.19
   * (TDES DUKPT) or AES-CMAC (AES DUKPT, AES-128 key), its leftmost `macLength` bytes (default 8, ISO
   * 8583 field 64). Only the current KSN: a device keeps no key of an earlier transaction (X9.24
   * erases it when the counter moves), so `ksn_not_current` for any other.
   */
  mac(ksn: Uint8Array, data: Uint8Array, direction: DukptMacDirection, macLength = 8): Buffer {
    if (!(ksn instanceof Uint8Array) || !this.#ksn.equals(ksn))
      throw new CryptoError('bad_data', 'the device holds the MAC keys of its current KSN only', {
        expected: this.#ksn.toString('hex').toUpperCase(),
        actual: ksn instanceof Uint8Array ? Buffer.from(ksn).toString('hex').toUpperCase() : typeof ksn,
        reason: 'ksn_not_current',
      });
    if (this.counter === 0)
      throw new CryptoError('bad_data', 'no transaction yet: the device has no MAC key before its first PIN', {
        reason: 'ksn_not_current',
      });
    return computeDukptMac({ initialKey: this.#initialKey }, ksn, data, { direction, macLength });
  }

  /** True when `mac` is the MAC of `data` under the current transaction's `direction` key (constant time). */
  verifyMac(ksn: Uint8Array, data: Uint8Array, mac: Uint8Array, direction: DukptMacDirection): boolean {
    if (!(mac instanceof Uint8Array)) return false;
    const expected = this.mac(ksn, data, direction, 8);
    try {
      return mac.length === expected.length && constantTimeEqual(expected, mac);
    } finally {
      expected.fill(0);
    }
  }

  /** Forgets the initial key (the device was zeroised). */
  destroy(): void {
    this.#initialKey.fill(0);
  }

  toString(): string {
    return `DukptPinPad(${this.scheme}, counter ${this.counter}, ***)`;
  }

  toJSON(): Record<string, unknown> {
    return { scheme: this.scheme, ksn: this.#ksn.toString('hex').toUpperCase() };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  #advance(): Buffer {
    const tdes = this.scheme === 'dukpt-tdes';
    const max = tdes ? DUKPT_COUNTER_MASK : 0xffffffff;
    const maxOnes = tdes ? DUKPT_MAX_COUNTER_ONE_BITS : AES_DUKPT_MAX_COUNTER_ONE_BITS;
    let c = this.counter + 1;
    // X9.24: a counter with too many one-bits is skipped by adding its lowest set bit.
    while (c <= max && counterOneBits(c) > maxOnes) c += c & -c;
    if (c > max)
      throw new CryptoError('bad_data', 'the DUKPT counter is exhausted: the device needs a new key', {
        reason: 'ksn_exhausted',
      });
    if (tdes) this.#ksn = ksnWithCounter(this.#ksn, checkDukptCounter(c));
    else {
      const next = Buffer.from(this.#ksn);
      next.writeUInt32BE(checkAesDukptCounter(c) >>> 0, 8);
      this.#ksn = next;
    }
    return this.#ksn;
  }

  /** The transaction's PIN key (MAC keys come from dukpt-mac.ts, see `mac`). */
  #pinKey(ksn: Buffer): Buffer {
    if (this.scheme === 'dukpt-tdes') {
      const tk = deriveDukptTransactionKey(this.#initialKey, ksn);
      try {
        return dukptWorkingKey(tk, 'pin');
      } finally {
        tk.fill(0);
      }
    }
    const tk = deriveAesDukptTransactionKey(this.#initialKey, ksn);
    try {
      return aesDukptWorkingKey(tk, ksn, 'pin');
    } finally {
      tk.fill(0);
    }
  }
}

/** The PIN key of a transaction from the BDK (host side). */
export function deriveDukptPinKey(bdk: BytesInput, ksn: Uint8Array): Buffer {
  return dukptSchemeOfKsn(ksn) === 'dukpt-tdes'
    ? deriveDukptKey(bdk, ksn, 'pin')
    : deriveAesDukptKey(bdk, ksn, 'pin');
}

/** Decrypts a DUKPT PIN block with the BDK and the KSN; the PIN's ASCII digits (`bad_pin_block`). */
export function decryptDukptPinBlock(
  bdk: BytesInput,
  ksn: Uint8Array,
  pinBlock: BytesInput,
  pan: PanInput,
): SensitiveBytes {
  const key = deriveDukptPinKey(bdk, ksn);
  try {
    return dukptSchemeOfKsn(ksn) === 'dukpt-tdes'
      ? decryptPinBlockIso0(pinBlock, pan, key)
      : decipherPinBlockIso4(pinBlock, pan, key);
  } finally {
    key.fill(0);
  }
}

/** True when the block holds `expectedPin` (constant time); `bad_pin_block` when it does not decode. */
export function verifyDukptPinBlock(
  bdk: BytesInput,
  ksn: Uint8Array,
  pinBlock: BytesInput,
  pan: PanInput,
  expectedPin: PinInput,
): boolean {
  const got = decryptDukptPinBlock(bdk, ksn, pinBlock, pan);
  const a = got.reveal();
  const b = typeof expectedPin === 'string' ? Buffer.from(expectedPin, 'latin1') : expectedPin.reveal();
  try {
    return constantTimeEqual(a, b);
  } finally {
    a.fill(0);
    b.fill(0);
    got.wipe();
  }
}

/**
 * TDES DUKPT request MAC: ANSI X9.19 under the transaction's MAC-request variant key, from the BDK.
 * `computeDukptMac` (dukpt-mac.ts) for either scheme and direction; this keeps the TDES-only check.
 */
export function dukptTdesRequestMac(bdk: BytesInput, ksn: Uint8Array, data: Uint8Array): Buffer {
  if (dukptSchemeOfKsn(ksn) !== 'dukpt-tdes')
    throw new CryptoError('bad_algorithm', 'only TDES DUKPT MACs are offered', {
      expected: 'dukpt-tdes',
      actual: 'dukpt-aes',
    });
  return computeDukptMac({ bdk }, ksn, data);
}
