/**
 * Logging rules for card data, as plain data and functions shaped like pino's `LoggerOptions`, so this
 * folder needs no pino runtime import. The daemon's logger (and the simulators') use exactly these:
 *
 *   const logger = pino({ ...cardLogOptions(), level }, destination)
 *
 * Three layers, each enough on its own for the common case:
 * 1. value types: `Pan`, `Track2`, `SensitiveBytes`, `FingerprintKey` print masked whatever path they sit on;
 * 2. `redact.paths`: every key under which raw card data or keys can appear in our log objects, up to
 *    `REDACT_DEPTH` levels below the top, replaced with `***`;
 * 3. scrubbing (`hooks.logMethod`, `formatters.bindings`, the `err`/`error` serializers): every string in
 *    the logged object, the message and its format arguments, error messages and stacks, and child-logger
 *    bindings go through `scrubText`, which masks any run of 13 or more digits (PAN-like, or a hex dump of
 *    ASCII digits); binary values (Buffer, typed arrays) are replaced with their length.
 *
 * Not covered: 12-digit PANs in free text (runs of 12 digits are left alone so that RRNs stay
 * readable), PANs stored as JavaScript numbers, and card data encoded in ways `scrubText` cannot see
 * (base64 or BCD of a PAN it was not told about). Those rely on layers 1 and 2: keep card data in the
 * value types and under the names below.
 */
import { maskPan } from './mask.js';
import { Pan } from './pan.js';
import { SensitiveBytes } from './sensitive-bytes.js';
import { Track2 } from './track2.js';

/** What redacted values are replaced with. */
export const REDACT_CENSOR = '***';

/** Keys that hold card data, PIN data or key material wherever they appear in a log object. */
export const SENSITIVE_LOG_KEYS: readonly string[] = [
  // card data
  'pan',
  'primaryAccountNumber',
  'track1',
  'track2',
  'track3',
  'tracks',
  'track2Equivalent',
  'discretionaryData',
  'cvv',
  'cvv2',
  'cvc',
  'cvc2',
  'expiry',
  'expiryDate',
  'expirationDate',
  'cardholderName',
  // PIN
  'pin',
  'pinBlock',
  // scan-to-pay: the customer's payment code is a bearer token for their wallet
  'authCode',
  'auth_code',
  // keys
  'key',
  'keys',
  'clearKey',
  'masterKey',
  'workingKeys',
  'tmk',
  'tpk',
  'tak',
  'tdk',
  'pinKey',
  'macKey',
  'trackKey',
  'sealingKey',
  'fingerprintKey',
  // EMV: raw TLV and opaque vendor containers can hold track data and tags 56/57/5A/5F20/5F24
  'tlv',
  'field55Raw',
  'opaque',
  'rawTlv',
];

/**
 * ISO 8583 fields that carry card data, redacted under a `fields` object: 2 PAN, 14 expiry, 35 track 2,
 * 36 track 3, 45 track 1, 52 PIN block, 55 ICC data (the reader's raw TLV can include 57/5A).
 */
export const SENSITIVE_ISO_FIELDS: readonly string[] = ['2', '14', '35', '36', '45', '52', '55'];

/** Levels below the top at which the keys above are redacted (`pan`, `*.pan`, `*.*.pan`, `*.*.*.pan`). */
export const REDACT_DEPTH = 3;

function buildRedactPaths(): string[] {
  const paths: string[] = [];
  const prefixes = Array.from({ length: REDACT_DEPTH + 1 }, (_, depth) => '*.'.repeat(depth));
  for (const prefix of prefixes) {
    for (const key of SENSITIVE_LOG_KEYS) paths.push(prefix + key);
  }
  for (const prefix of prefixes.slice(0, REDACT_DEPTH)) {
    for (const field of SENSITIVE_ISO_FIELDS) paths.push(`${prefix}fields.${field}`);
  }
  return paths;
}

/** pino `redact.paths`: use with `censor: REDACT_CENSOR`. */
export const redactPaths: string[] = buildRedactPaths();

// ---------------------------------------------------------------------------------------------------
// Text scrubbing

/**
 * A run of 13 or more digits, or 13-19 digits written in groups ("6217 9700 0000 0005 090",
 * "6217-9700-..."). Digits next to letters count (hex dumps), digits next to digits do not split a run.
 */
const PAN_LIKE = /(?<![0-9])(?:[0-9]{13,}|[0-9]{4}(?:[ -][0-9]{3,6}){2,4})(?![0-9])/g;

/**
 * Masks card numbers in free text (error messages, stacks, message strings, hex dumps):
 * - every run of 13-19 digits becomes its masked form (first 6 / last 4 at most, `maskPan`), whether or
 *   not it passes Luhn (test PANs fail it); grouped forms are masked too;
 * - every longer run of digits (a hex dump of ASCII digits, a PAN inside a longer numeric field) is
 *   replaced entirely with `*`;
 * - each of `knownPans` (when the caller knows the card) is also removed in its hex-of-ASCII and base64
 *   (ASCII and BCD, any alignment) forms. Its BCD hex form is the digits themselves.
 * Runs of 12 digits or fewer are kept (RRNs, STAN+time, amounts). Not a substitute for keeping card data
 * in `Pan`/`Track2`/`SensitiveBytes`: encodings of unknown PANs other than those above are not detected.
 */
export function scrubText(text: string, knownPans?: ReadonlyArray<string | Pan>): string {
  let out = text;
  if (knownPans) {
    for (const known of knownPans) out = removeKnownPan(out, known);
  }
  return out.replace(PAN_LIKE, (match) => {
    const digits = match.replace(/[ -]/g, '');
    if (digits.length < 13) return match;
    return digits.length <= 19 ? maskPan(digits) : '*'.repeat(digits.length);
  });
}

function removeKnownPan(text: string, known: string | Pan): string {
  const digits = known instanceof Pan ? known.reveal() : String(known);
  if (!/^[0-9]{8,19}$/.test(digits)) return text; // too short to remove without wrecking the text
  let out = text.split(digits).join(maskPan(digits));
  for (const form of encodedForms(digits)) {
    if (form.length >= 8) out = out.split(form).join('*'.repeat(form.length));
  }
  return out;
}

/** Encodings of `digits` that can be found as substrings of a larger encoded buffer. */
function encodedForms(digits: string): string[] {
  const ascii = Buffer.from(digits, 'latin1');
  const forms = new Set<string>([ascii.toString('hex')]);
  const byteStrings: Buffer[] = [ascii];
  // BCD at both nibble alignments (only whole bytes: the PAN's first/last nibble may share a byte)
  for (const start of [0, 1]) {
    const even = digits.slice(start, start + Math.floor((digits.length - start) / 2) * 2);
    byteStrings.push(Buffer.from(even, 'hex'));
  }
  for (const bytes of byteStrings) {
    // a base64 encoding of a buffer containing `bytes` contains base64(bytes[k..]) for the k that
    // aligns the first whole 3-byte group
    for (let k = 0; k < 3; k++) {
      const slice = bytes.subarray(k, k + Math.floor((bytes.length - k) / 3) * 3);
      if (slice.length === 0) continue;
      forms.add(slice.toString('base64'));
      forms.add(slice.toString('base64url'));
    }
  }
  return [...forms];
}

// ---------------------------------------------------------------------------------------------------
// Value scrubbing

const MAX_DEPTH = 16;

/**
 * A copy of `value` fit for a log line: strings scrubbed with `scrubText`, errors serialized with
 * `serializeError`, binary replaced with `[binary N bytes]`, card value types replaced with their masked
 * text, other objects copied as `JSON.stringify` would see them (own enumerable keys, or their
 * `toJSON()` result), Maps and Sets as `{}` (as JSON shows them). Numbers and Dates are not changed.
 * Never calls `reveal()`.
 */
export function scrubValue(value: unknown, knownPans?: ReadonlyArray<string | Pan>): unknown {
  return walk(value, knownPans, new Set(), 0);
}

function walk(
  value: unknown,
  knownPans: ReadonlyArray<string | Pan> | undefined,
  seen: Set<object>,
  depth: number,
): unknown {
  if (typeof value === 'string') return scrubText(value, knownPans);
  if (typeof value !== 'object' || value === null) return value;
  // card value types become their masked text here, so that pino's redaction (which copies class
  // instances without their private fields) never sees them
  if (value instanceof Pan || value instanceof Track2 || value instanceof SensitiveBytes)
    return value.toJSON();
  if (value instanceof Date) return value;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `[binary ${value.byteLength} bytes]`;
  if (value instanceof Error) return serializeErrorInner(value, knownPans, seen, depth);
  if (seen.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[Object]';
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((item) => walk(item, knownPans, seen, depth + 1));
    // JSON shows a Map or Set as `{}`; a plain `{}` also keeps pino's redaction from copying the instance
    if (value instanceof Map || value instanceof Set) return {};
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') {
      return walk(toJSON.call(value), knownPans, seen, depth + 1);
    }
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      out[key] = walk((value as Record<string, unknown>)[key], knownPans, seen, depth + 1);
    }
    return out;
  } catch {
    return '[Unserializable]';
  } finally {
    seen.delete(value);
  }
}

/** Serialized error as pino shows it. */
export interface SerializedError {
  type: string;
  message: string;
  stack?: string;
  code?: unknown;
  cause?: unknown;
  errors?: unknown[];
  [key: string]: unknown;
}

/**
 * An error as a plain object (`type`, `message`, `stack`, own enumerable properties such as `code`,
 * `cause`, `errors` of an AggregateError), with every string scrubbed. Values that are not errors
 * (including an error serialized already) go through `scrubValue`.
 */
export function serializeError(err: unknown, knownPans?: ReadonlyArray<string | Pan>): unknown {
  if (err instanceof Error) return serializeErrorInner(err, knownPans, new Set(), 0);
  return scrubValue(err, knownPans);
}

function serializeErrorInner(
  err: Error,
  knownPans: ReadonlyArray<string | Pan> | undefined,
  seen: Set<object>,
  depth: number,
): SerializedError | string {
  if (seen.has(err)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[Error]';
  seen.add(err);
  try {
    const out: SerializedError = {
      type: scrubText(typeof err.constructor === 'function' ? err.constructor.name : err.name, knownPans),
      message: scrubText(String(err.message), knownPans),
    };
    if (typeof err.stack === 'string') out.stack = scrubText(err.stack, knownPans);
    for (const key of Object.keys(err)) {
      if (key === 'stack' || key === 'message') continue;
      out[key] = walk((err as unknown as Record<string, unknown>)[key], knownPans, seen, depth + 1);
    }
    if (err.cause !== undefined) out.cause = walk(err.cause, knownPans, seen, depth + 1);
    if (err instanceof AggregateError && Array.isArray(err.errors)) {
      out.errors = err.errors.map((e: unknown) => walk(e, knownPans, seen, depth + 1));
    }
    return out;
  } catch {
    return '[Unserializable error]';
  } finally {
    seen.delete(err);
  }
}

// ---------------------------------------------------------------------------------------------------
// Whole log lines

/**
 * Scrubs the string tokens of a JSON text (a pino log line) with `scrubText`, leaving numbers, keys'
 * structure and everything outside strings untouched, so the line stays valid JSON and `"time"` stays a
 * number. Tolerates text that is not JSON (only what looks like a string token is scrubbed).
 */
export function scrubJsonStrings(json: string, knownPans?: ReadonlyArray<string | Pan>): string {
  let out = '';
  let copied = 0;
  let i = json.indexOf('"');
  while (i >= 0 && i < json.length) {
    let j = i + 1;
    while (j < json.length) {
      const c = json.charCodeAt(j);
      if (c === 0x5c)
        j += 2; // backslash escape
      else if (c === 0x22) break;
      else j++;
    }
    const end = Math.min(j, json.length);
    const content = json.slice(i + 1, end);
    const scrubbed = scrubText(content, knownPans);
    if (scrubbed !== content) {
      out += json.slice(copied, i + 1) + scrubbed;
      copied = end;
    }
    i = json.indexOf('"', end + 1);
  }
  return copied === 0 ? json : out + json.slice(copied);
}

// ---------------------------------------------------------------------------------------------------
// pino options

/** Structural subset of pino's `LoggerOptions` that `cardLogOptions` fills. */
export interface CardLogOptions {
  redact: { paths: string[]; censor: string };
  serializers: { [key: string]: (value: unknown) => unknown };
  hooks?: {
    logMethod(this: unknown, args: unknown[], method: (...args: never[]) => unknown, level: number): void;
    streamWrite(line: string): string;
  };
}

export interface CardLogSettings {
  /** pino's `errorKey` when the logger changes it (default `err`). */
  errorKey?: string;
  /**
   * Scrub (default true): `hooks.logMethod` copies every logged object and argument through
   * `scrubValue` (binary replaced, errors serialized, card types as masked text) and
   * `hooks.streamWrite` runs `scrubJsonStrings` over each finished line (which also covers child
   * bindings, the message pino takes from `err.message`, and anything a serializer let through).
   * With `scrub: false` only the redaction paths, the value types and the error serializers apply.
   */
  scrub?: boolean;
}

/**
 * Options to spread into `pino({...})`: `redact` (paths + `***`), `serializers` (`err`, `error`) and,
 * unless `scrub: false`, `hooks.logMethod` and `hooks.streamWrite`. A caller with its own hooks must
 * call these from them. Child loggers inherit all of it; a child created with its own `redact` option
 * replaces the paths (do not).
 */
export function cardLogOptions(settings: CardLogSettings = {}): CardLogOptions {
  const errorKey = settings.errorKey ?? 'err';
  const errSerializer = (value: unknown): unknown => serializeError(value);
  const options: CardLogOptions = {
    redact: { paths: [...redactPaths], censor: REDACT_CENSOR },
    serializers: { [errorKey]: errSerializer, err: errSerializer, error: errSerializer },
  };
  if (settings.scrub === false) return options;
  options.hooks = {
    logMethod(args, method) {
      const scrubbed = args.map((arg, i) =>
        i === 0 && arg instanceof Error ? { [errorKey]: serializeError(arg) } : scrubValue(arg),
      );
      Reflect.apply(method, this, scrubbed);
    },
    streamWrite(line) {
      return scrubJsonStrings(line);
    },
  };
  return options;
}
