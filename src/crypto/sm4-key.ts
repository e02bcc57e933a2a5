/**
 * An SM4 key (16 bytes) held privately, with the surface `DesKey` offers the working-key code: ECB of
 * whole 16-byte blocks, a check value (leftmost bytes of SM4_K(16 zero bytes), see sm4.ts), the UnionPay
 * SM4 MAC, and `destroy`. Prints masked. Every operation checks OpenSSL SM4 support (`requireGm`).
 */
import { SensitiveBytes } from '../card/index.js';
import { clearCopy, type BytesInput } from './bytes.js';
import { CryptoError, type KeyRole } from './errors.js';
import { requireGm } from './gm-support.js';
import { sm4CupMac, sm4EcbDecrypt, sm4EcbEncrypt, sm4KeyCheckValue, SM4_KEY_LENGTH } from './sm4.js';

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

export type Sm4KeyInput = BytesInput | Sm4Key;

export class Sm4Key {
  readonly #bytes: SensitiveBytes;
  readonly length = SM4_KEY_LENGTH;
  readonly role: KeyRole;
  #destroyed = false;

  private constructor(bytes: SensitiveBytes, role: KeyRole) {
    this.#bytes = bytes;
    this.role = role;
  }

  /** Prepares a 16-byte SM4 key (the bytes are copied); an `Sm4Key` is returned as is. */
  static from(key: Sm4KeyInput, role: KeyRole = 'key'): Sm4Key {
    if (key instanceof Sm4Key) return key;
    requireGm('sm4');
    const copy = SensitiveBytes.adopt(clearCopy(key), role);
    if (copy.length !== SM4_KEY_LENGTH) {
      const actual = copy.length;
      copy.wipe();
      throw new CryptoError('bad_key_length', `${role} must be 16 bytes for SM4`, {
        key: role,
        expected: SM4_KEY_LENGTH,
        actual,
      });
    }
    return new Sm4Key(copy, role);
  }

  static isSm4Key(value: unknown): value is Sm4Key {
    return value instanceof Sm4Key;
  }

  encryptEcb(data: Uint8Array): Buffer {
    return sm4EcbEncrypt(this.#alive(), data, this.role);
  }

  decryptEcb(data: Uint8Array): Buffer {
    return sm4EcbDecrypt(this.#alive(), data, this.role);
  }

  /** Leftmost `bytes` of SM4_K(16 zero bytes). */
  checkValue(bytes = 4): Buffer {
    return sm4KeyCheckValue(this.#alive(), bytes);
  }

  /** UnionPay POS SM4 MAC (the 8 ASCII hex bytes of field 64). */
  cupMac(data: Uint8Array): Buffer {
    return sm4CupMac(this.#alive(), data);
  }

  destroy(): void {
    this.#destroyed = true;
    this.#bytes.wipe();
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  toString(): string {
    return `Sm4Key(${this.role}, 16 bytes, ***)`;
  }

  toJSON(): string {
    return this.toString();
  }

  [Symbol.toPrimitive](): string {
    return this.toString();
  }

  [inspectSymbol](): string {
    return this.toString();
  }

  #alive(): SensitiveBytes {
    if (this.#destroyed)
      throw new CryptoError('key_destroyed', `the ${this.role} key was destroyed`, { key: this.role });
    return this.#bytes;
  }
}
