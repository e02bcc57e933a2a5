import { CardDataError } from './errors.js';
import { Pan } from './pan.js';
import { SensitiveBytes } from './sensitive-bytes.js';

const inspect = Symbol.for('nodejs.util.inspect.custom');

/** ISO/IEC 7813: track 2 holds at most 37 data characters (40 with start sentinel, end sentinel, LRC). */
export const TRACK2_MAX_CHARS = 37;

export type Track2Separator = 'D' | '=';

interface ClearParts {
  readonly pan: Pan;
  readonly separator: Track2Separator;
  readonly expiry: SensitiveBytes;
  readonly serviceCode: string;
  readonly discretionary: SensitiveBytes;
}

/**
 * Track 2 (or its chip equivalent, tag 57) in one of two shapes:
 *
 * - clear: PAN, separator (`D` in nibble form, `=` on the magstripe), YYMM expiry, three-digit service
 *   code, discretionary data (which holds the CVV/iCVV, PVV and issuer data);
 * - opaque (`encrypted === true`): track data encrypted under the track key (TDK). Its nibbles include
 *   A-F, so it cannot be parsed; it is held as-is and only `reveal()` and `length` apply.
 *
 * Every text form (toString, template literals, JSON, util.inspect, pino) is masked, for example
 * `Track2(621797*********5090 D ****)` or `Track2(encrypted, 48 nibbles, ***)`. The clear value comes out
 * only through `reveal()`, `pan.reveal()`, `expiry.reveal()`, `discretionaryData.reveal()` and
 * `revealExpiry()`: all easy to grep for in review.
 */
export class Track2 {
  readonly #text: string;
  readonly #clear: ClearParts | undefined;

  private constructor(text: string, clear: ClearParts | undefined) {
    this.#text = text;
    this.#clear = clear;
  }

  /**
   * Parses a clear track 2 in character or nibble-string form: `PAN D|= YYMM SSS discretionary`.
   * Start/end sentinels (`;` and `?`) and trailing `F` pad nibbles are removed; the separator may be
   * `D`, `d` or `=`. The expiry must be four digits with a month of 01-12; service code and discretionary
   * data must be digits. The Luhn digit is not checked (see `Pan`). A track without an expiry (ISO 7813
   * allows a second separator instead) is rejected. Throws `CardDataError('invalid_track2')` whose
   * message describes the shape of the input, never its content.
   */
  static parse(input: string | SensitiveBytes): Track2 {
    const text = normalise(textOf(input));
    const clear = parseClear(text);
    if (clear === undefined) {
      throw new CardDataError('invalid_track2', `track 2 is not a clear track (${describeShape(text)})`);
    }
    return new Track2(canonical(clear), clear);
  }

  /**
   * Parses packed nibbles, as in ISO 8583 field 35 (`n`/`z` encoded BCD): two nibbles per byte,
   * separator nibble `D`, padded with `F` (or `0` when `nibbles` says the last nibble is padding).
   * With `encrypted: true` the nibbles are kept opaque (no parsing, no throwing on A-F).
   */
  static fromNibbles(packed: Uint8Array, options: { nibbles?: number; encrypted?: boolean } = {}): Track2 {
    let hex = Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength).toString('hex').toUpperCase();
    if (options.nibbles !== undefined) {
      if (!Number.isInteger(options.nibbles) || options.nibbles < 0 || options.nibbles > hex.length) {
        throw new CardDataError('invalid_track2', `nibble count out of range for ${packed.byteLength} bytes`);
      }
      hex = hex.slice(0, options.nibbles);
    }
    return options.encrypted ? Track2.opaque(hex) : Track2.parse(hex);
  }

  /**
   * An encrypted (TDK) track, kept opaque. Accepts any non-empty nibble/character string (A-F nibbles
   * are expected); nothing is parsed, so nothing about the content can make it throw.
   */
  static opaque(data: string | SensitiveBytes): Track2 {
    const text = textOf(data);
    if (text.length === 0) throw new CardDataError('invalid_track2', 'encrypted track 2 is empty');
    return new Track2(text, undefined);
  }

  /**
   * `parse` when the input is a valid clear track, else `opaque`. Use `opaque` when the reader says the
   * track is encrypted: ciphertext that happens to look like a clear track would otherwise be parsed.
   */
  static parseOrOpaque(input: string | SensitiveBytes): Track2 {
    const text = textOf(input);
    const clear = parseClear(normalise(text));
    return clear === undefined ? Track2.opaque(text) : new Track2(canonical(clear), clear);
  }

  static isTrack2(value: unknown): value is Track2 {
    return value instanceof Track2;
  }

  /** True for a TDK-encrypted (opaque) track: `pan`, `expiry` and the other parts are not available. */
  get encrypted(): boolean {
    return #text in this && this.#clear === undefined;
  }

  /** Characters (nibbles) of the track without sentinels. */
  get length(): number {
    return #text in this ? this.#text.length : 0;
  }

  /** The clear track (`PAN D YYMM SSS discretionary`, original separator) or the opaque nibble string. */
  reveal(): string {
    return this.#text;
  }

  /** The PAN, itself masked in every text form. Throws `track_encrypted` for an opaque track. */
  get pan(): Pan {
    return Track2.#partsOf(this)?.pan as Pan;
  }

  get separator(): Track2Separator {
    return Track2.#partsOf(this)?.separator as Track2Separator;
  }

  /** Expiry as the ASCII bytes of `YYMM`. Sensitive: it stays out of logs, receipts and storage. */
  get expiry(): SensitiveBytes {
    return Track2.#partsOf(this)?.expiry as SensitiveBytes;
  }

  /** The clear expiry `YYMM`, for building ISO 8583 field 14 only. */
  revealExpiry(): string {
    return this.#genuineParts().expiry.reveal().toString('latin1');
  }

  /**
   * The three-digit service code (for example `201`: international, chip, normal authorisation). Not
   * secret on its own, so it is a plain string; the engine reads it for chip-fallback decisions.
   */
  get serviceCode(): string {
    return Track2.#partsOf(this)?.serviceCode as string;
  }

  /** Whether the service code says the card has a chip (first digit 2 or 6): magstripe use is a fallback. */
  get hasChip(): boolean {
    const first = Track2.#partsOf(this)?.serviceCode[0];
    return first === '2' || first === '6';
  }

  /** Discretionary data (CVV/iCVV, PVV, issuer data) as ASCII bytes; may be empty. */
  get discretionaryData(): SensitiveBytes {
    return Track2.#partsOf(this)?.discretionary as SensitiveBytes;
  }

  get masked(): string {
    if (!(#text in this)) return '***';
    const clear = this.#clear;
    if (clear === undefined) return `Track2(encrypted, ${this.#text.length} nibbles, ***)`;
    return `Track2(${clear.pan.masked} ${clear.separator} ****)`;
  }

  equals(other: Track2): boolean {
    return (
      other instanceof Track2 &&
      #text in other &&
      #text in this &&
      other.#text === this.#text &&
      other.encrypted === this.encrypted
    );
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
    return this.masked;
  }

  /**
   * The clear parts; throws `track_encrypted` for an opaque track. A brand-less copy (what pino's
   * redaction makes of class instances, see `Pan`) gives undefined, so that reading a getter while
   * logging never throws; the typed API cannot produce such a copy.
   */
  static #partsOf(track: Track2): ClearParts | undefined {
    if (!(#text in track)) return undefined;
    return track.#genuineParts();
  }

  #genuineParts(): ClearParts {
    if (this.#clear === undefined) {
      throw new CardDataError('track_encrypted', 'track 2 is encrypted: its parts are not available');
    }
    return this.#clear;
  }
}

function textOf(input: string | SensitiveBytes): string {
  if (typeof input === 'string') return input;
  if (input instanceof SensitiveBytes) return input.reveal().toString('latin1');
  throw new CardDataError(
    'invalid_track2',
    `track 2 must be a string or SensitiveBytes (got ${typeof input})`,
  );
}

/** Strips sentinels and trailing pad nibbles, upper-cases the nibble separator. */
function normalise(text: string): string {
  let t = text;
  if (t.startsWith(';')) t = t.slice(1);
  const end = t.indexOf('?');
  if (end >= 0) t = t.slice(0, end); // anything after the end sentinel is the LRC
  return t.replace(/[Ff]+$/, '').replace(/d/g, 'D');
}

const CLEAR = /^([0-9]{1,19})([D=])([0-9]{2})([0-9]{2})([0-9]{3})([0-9]*)$/;

function parseClear(text: string): ClearParts | undefined {
  if (text.length > TRACK2_MAX_CHARS) return undefined;
  const m = CLEAR.exec(text);
  if (m === null) return undefined;
  const [, digits, sep, yy, mm, serviceCode, discretionary] = m;
  if (
    digits === undefined ||
    yy === undefined ||
    mm === undefined ||
    serviceCode === undefined ||
    discretionary === undefined
  ) {
    return undefined;
  }
  const month = Number(mm);
  if (month < 1 || month > 12) return undefined;
  return {
    pan: Pan.fromDigits(digits),
    separator: sep === '=' ? '=' : 'D',
    expiry: SensitiveBytes.fromText(yy + mm, 'expiry'),
    serviceCode,
    discretionary: SensitiveBytes.fromText(discretionary, 'track2-discretionary'),
  };
}

function canonical(parts: ClearParts): string {
  return (
    parts.pan.reveal() +
    parts.separator +
    parts.expiry.reveal().toString('latin1') +
    parts.serviceCode +
    parts.discretionary.reveal().toString('latin1')
  );
}

/** Shape only: length, whether a separator is present, character classes. Never the content. */
function describeShape(text: string): string {
  const classes: string[] = [];
  if (/[0-9]/.test(text)) classes.push('digits');
  if (/[A-CEa-ce]/.test(text)) classes.push('hex letters');
  if (/[^0-9A-Fa-f=]/.test(text)) classes.push('other characters');
  const sep = /[D=]/.test(text) ? 'separator present' : 'no separator';
  const tooLong = text.length > TRACK2_MAX_CHARS ? `, over ${TRACK2_MAX_CHARS}` : '';
  return `${text.length} characters${tooLong}, ${sep}, ${classes.join('/') || 'empty'}`;
}
