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

  /** One byte per character (latin1): how digit and nibble fields are held. */
  static fromText(text: string, kind = 'sensitive'): SensitiveBytes {
    // A byte loop beats Buffer.from(text, 'latin1') for the short values this holds (expiry, tracks).
    const bytes = Buffer.allocUnsafe(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return new SensitiveBytes(bytes, kind);
  }

  static isSensitive(value: unknown): value is SensitiveBytes {
    return value instanceof SensitiveBytes;
  }

  /** A copy of the clear bytes. */
  reveal(): Buffer;
  /** The clear bytes as latin1 text (digit and nibble fields), without an intermediate copy. */
  reveal(as: 'latin1'): string;
  reveal(as?: 'latin1'): Buffer | string {
    if (as === 'latin1') return this.#bytes.toString('latin1');
    return Buffer.from(this.#bytes);
  }

  /** Byte count (0 for a brand-less copy such as pino's redaction makes: see `Pan`). */
  get length(): number {
    return #bytes in this ? this.#bytes.length : 0;
  }

  equals(other: SensitiveBytes): boolean {
    return (
      other instanceof SensitiveBytes && #bytes in other && #bytes in this && other.#bytes.equals(this.#bytes)
    );
  }

  /** Overwrites the held bytes with zeros (best effort: JavaScript may have copied them before). */
  wipe(): void {
    if (#bytes in this) this.#bytes.fill(0);
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
    return `SensitiveBytes(${this.kind}, ${this.length} bytes, ***)`;
  }
}
