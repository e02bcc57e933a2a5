const inspect = Symbol.for('nodejs.util.inspect.custom');

/**
 * Bytes that must never be printed or stored in clear: track data, PIN blocks, expiry dates, keys.
 * Text forms are always `***`; the bytes come out only through `reveal()` (a copy).
 * For digit and nibble fields the bytes are the ASCII characters of the value (e.g. "6226...D4912").
 */
export class SensitiveBytes {
  readonly #bytes: Buffer;
  readonly kind: string;

  private constructor(bytes: Buffer, kind: string) {
    this.#bytes = bytes;
    this.kind = kind;
  }

  /** Copies `bytes`, so wiping the source does not affect this value and vice versa. */
  static from(bytes: Uint8Array, kind = 'sensitive'): SensitiveBytes {
    return new SensitiveBytes(Buffer.from(bytes), kind);
  }

  /** Takes ownership of `bytes` without copying (the caller must not keep a reference). */
  static adopt(bytes: Buffer, kind = 'sensitive'): SensitiveBytes {
    return new SensitiveBytes(bytes, kind);
  }

  static fromText(text: string, kind = 'sensitive'): SensitiveBytes {
    return new SensitiveBytes(Buffer.from(text, 'latin1'), kind);
  }

  static isSensitive(value: unknown): value is SensitiveBytes {
    return value instanceof SensitiveBytes;
  }

  /** A copy of the clear bytes. */
  reveal(): Buffer {
    return Buffer.from(this.#bytes);
  }

  get length(): number {
    return this.#bytes.length;
  }

  equals(other: SensitiveBytes): boolean {
    return other instanceof SensitiveBytes && other.#bytes.equals(this.#bytes);
  }

  /** Overwrites the held bytes with zeros (best effort: JavaScript may have copied them before). */
  wipe(): void {
    this.#bytes.fill(0);
  }

  toString(): string {
    return '***';
  }

  toJSON(): string {
    return '***';
  }

  [Symbol.toPrimitive](): string {
    return '***';
  }

  [inspect](): string {
    return `SensitiveBytes(${this.kind}, ${this.#bytes.length} bytes, ***)`;
  }
}
