import { CardDataError } from './errors.js';
import { maskPan, lastFour } from './mask.js';

const inspect = Symbol.for('nodejs.util.inspect.custom');

/**
 * A primary account number. Every way of turning it into text (toString, template literals, JSON,
 * util.inspect, pino) gives the masked form; the clear digits come out only through `reveal()`, which
 * is easy to grep for in review. The Luhn digit is deliberately not checked: test and vector PANs fail it.
 *
 * A brand-less copy (`Object.create(Pan.prototype)` plus own properties: what pino's redaction makes of
 * class instances on a redacted path) holds no digits: its text forms are `***`, its getters give empty
 * values, and `reveal()` throws a TypeError. Nothing on the text path ever throws.
 */
export class Pan {
  readonly #digits: string;

  private constructor(digits: string) {
    this.#digits = digits;
  }

  /** Accepts 1 to 19 decimal digits (ISO/IEC 7812 allows up to 19). */
  static fromDigits(digits: string): Pan {
    if (typeof digits !== 'string' || digits.length < 1 || digits.length > 19 || !/^[0-9]+$/.test(digits)) {
      throw new CardDataError(
        'invalid_pan',
        `PAN must be 1 to 19 decimal digits (got ${describeShape(digits)})`,
      );
    }
    return new Pan(digits);
  }

  static isPan(value: unknown): value is Pan {
    return value instanceof Pan;
  }

  /** The clear PAN. Only for building field 2, sealing, and fingerprinting. */
  reveal(): string {
    return this.#digits;
  }

  get length(): number {
    return #digits in this ? this.#digits.length : 0;
  }

  get masked(): string {
    return #digits in this ? maskPan(this.#digits) : '***';
  }

  get lastFour(): string {
    return #digits in this ? lastFour(this.#digits) : '';
  }

  /** First six digits (the BIN), or fewer for short numbers: never more than the masked form shows. */
  get bin(): string {
    return this.masked.replace(/\*.*$/, '');
  }

  equals(other: Pan): boolean {
    return other instanceof Pan && #digits in other && #digits in this && other.#digits === this.#digits;
  }

  toString(): string {
    return this.masked;
  }

  toJSON(): string {
    return this.masked;
  }

  [Symbol.toPrimitive](): string {
    return this.masked;
  }

  [inspect](): string {
    return `Pan(${this.masked})`;
  }
}

function describeShape(v: unknown): string {
  if (typeof v !== 'string') return typeof v;
  return `${v.length} characters${/^[0-9]*$/.test(v) ? '' : ', not all digits'}`;
}
