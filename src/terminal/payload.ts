/**
 * Command payloads: BER-TLV (the emv codec) with the profile's tags, and the value encodings of the
 * posbridge reader protocol (docs/reader-protocol.md section 4). Shared by the driver and the reader
 * simulator so both ends agree; the wire vectors in test/terminal pin the bytes down independently.
 */
import type { KeyScheme, MacAlgorithm, WorkingKeyLayout } from '../crypto/index.js';
import { encodeTlv, parseTlv, tlv, TlvError, type Tlv } from '../emv/index.js';
import { ReaderError } from './errors.js';
import type { ReaderProfile, TagName } from './profile.js';
import type { CardInterface, LastTransactionStatus, ReaderProgress, TransactionType } from './reader.js';

export type TagValue = Buffer | string | number | boolean;

/** Builds a payload from (tag name, value) pairs, skipping undefined values. Strings are UTF-8. */
export function buildPayload(
  profile: ReaderProfile,
  entries: ReadonlyArray<readonly [TagName, TagValue | undefined]>,
): Buffer {
  const parts: Tlv[] = [];
  for (const [name, value] of entries) {
    if (value === undefined) continue;
    parts.push(tlv(profile.tags[name], valueBytes(value)));
  }
  return encodeTlv(parts);
}

function valueBytes(v: TagValue): Buffer {
  if (Buffer.isBuffer(v)) return v;
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (typeof v === 'boolean') return Buffer.from([v ? 1 : 0]);
  if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new RangeError('a number value is one byte (0-255)');
  return Buffer.from([v]);
}

/** A parsed payload: lookups by tag name; missing or malformed values are `ReaderError`s with the tag. */
export class Payload {
  private readonly byTag = new Map<string, Tlv[]>();

  private constructor(
    private readonly profile: ReaderProfile,
    readonly command: string,
    elements: readonly Tlv[],
  ) {
    for (const e of elements) {
      const list = this.byTag.get(e.tag);
      if (list) list.push(e);
      else this.byTag.set(e.tag, [e]);
    }
  }

  /** Parses the top level of `bytes` (values stay bytes: DF55 is not descended into). */
  static parse(profile: ReaderProfile, command: string, bytes: Buffer): Payload {
    if (bytes.length === 0) return new Payload(profile, command, []);
    try {
      // Every protocol tag is primitive; `primitive` keeps vendor FFxx extensions from being descended into.
      return new Payload(profile, command, parseTlv(bytes, { privateTags: 'primitive' }).elements);
    } catch (e) {
      const t = e as TlvError;
      throw new ReaderError('reader_protocol_error', `payload is not BER-TLV (${t.code})`, {
        reason: 'bad_tlv',
        command,
        ...(t.path ? { tag: t.path } : {}),
        ...(t.offset !== undefined ? { offset: t.offset } : {}),
      });
    }
  }

  has(name: TagName): boolean {
    return this.byTag.has(this.profile.tags[name]);
  }

  get(name: TagName): Buffer | undefined {
    return this.byTag.get(this.profile.tags[name])?.[0]?.value;
  }

  all(name: TagName): Buffer[] {
    return (this.byTag.get(this.profile.tags[name]) ?? []).map((t) => t.value);
  }

  require(name: TagName): Buffer {
    const v = this.get(name);
    if (v === undefined) throw this.error(name, 'missing_tag', 'required tag missing');
    return v;
  }

  /** ASCII / UTF-8 text. */
  text(name: TagName): string | undefined {
    const v = this.get(name);
    return v === undefined ? undefined : v.toString('utf8');
  }

  requireText(name: TagName, pattern?: RegExp): string {
    const t = this.require(name).toString('utf8');
    if (pattern && !pattern.test(t)) throw this.error(name, 'bad_value', 'value has the wrong form');
    return t;
  }

  /** A one-byte value. */
  byte(name: TagName): number | undefined {
    const v = this.get(name);
    if (v === undefined) return undefined;
    if (v.length !== 1) throw this.error(name, 'bad_value', `one byte expected, got ${v.length}`);
    return v[0]!;
  }

  requireByte(name: TagName): number {
    const b = this.byte(name);
    if (b === undefined) throw this.error(name, 'missing_tag', 'required tag missing');
    return b;
  }

  /** A big-endian unsigned integer of 1-4 bytes. */
  uint(name: TagName): number | undefined {
    const v = this.get(name);
    if (v === undefined) return undefined;
    if (v.length < 1 || v.length > 4)
      throw this.error(name, 'bad_value', `1-4 bytes expected, got ${v.length}`);
    return v.readUIntBE(0, v.length);
  }

  /** Looks a one-byte code up in `table` (value → name). */
  code<T extends string>(name: TagName, table: Readonly<Record<T, number>>): T | undefined {
    const b = this.byte(name);
    if (b === undefined) return undefined;
    for (const [k, v] of Object.entries(table) as [T, number][]) if (v === b) return k;
    throw this.error(name, 'bad_value', `unknown code 0x${b.toString(16).padStart(2, '0')}`);
  }

  requireCode<T extends string>(name: TagName, table: Readonly<Record<T, number>>): T {
    const c = this.code(name, table);
    if (c === undefined) throw this.error(name, 'missing_tag', 'required tag missing');
    return c;
  }

  error(name: TagName, reason: 'missing_tag' | 'bad_value', message: string): ReaderError {
    return new ReaderError('reader_protocol_error', message, {
      reason,
      command: this.command,
      tag: this.profile.tags[name],
    });
  }
}

// ------------------------------------------------------------------ value encodings

export const TRANSACTION_TYPE_CODES: Readonly<Record<TransactionType, number>> = {
  sale: 0x00,
  balance: 0x01,
  preauth: 0x02,
  refund: 0x03,
  void: 0x04,
  capture: 0x05,
};

export const INTERFACE_BITS: Readonly<Record<CardInterface, number>> = {
  chip: 0x01,
  contactless: 0x02,
  magstripe: 0x04,
  keyed: 0x08,
};

export const PROGRESS_CODES: Readonly<Record<ReaderProgress, number>> = {
  present_card: 0x01,
  card_detected: 0x02,
  pin_entry_started: 0x03,
  pin_digit_entered: 0x04,
  processing: 0x05,
  remove_card: 0x06,
};

export type TransactionOutcome =
  'card_read' | 'cancelled_customer' | 'cancelled_operator' | 'timeout' | 'declined_offline' | 'card_error';

export const OUTCOME_CODES: Readonly<Record<TransactionOutcome, number>> = {
  card_read: 0x00,
  cancelled_customer: 0x01,
  cancelled_operator: 0x02,
  timeout: 0x03,
  declined_offline: 0x04,
  card_error: 0x05,
};

export const STAGE_CODES: Readonly<Record<LastTransactionStatus['stage'], number>> = {
  none: 0x00,
  waiting_card: 0x01,
  card_read: 0x02,
  completed: 0x03,
  cancelled: 0x04,
};

export type CancelOutcome = 'cancelled' | 'too_late_card_read' | 'too_late_completed' | 'no_transaction';

export const CANCEL_CODES: Readonly<Record<CancelOutcome, number>> = {
  cancelled: 0x00,
  too_late_card_read: 0x01,
  too_late_completed: 0x02,
  no_transaction: 0x03,
};

export const CRYPTOGRAM_CODES: Readonly<Record<'none' | 'tc' | 'aac', number>> = {
  none: 0x00,
  tc: 0x01,
  aac: 0x02,
};

export const KEY_LAYOUT_CODES: Readonly<Record<WorkingKeyLayout, number>> = {
  single: 0x01,
  double: 0x02,
  'double-mak8': 0x03,
};

export const MAC_ALGORITHM_CODES: Readonly<Record<MacAlgorithm, number>> = {
  'cup-ecb': 0x01,
  'x9.9': 0x02,
  'x9.19': 0x03,
};

/**
 * load_keys `key_scheme` (the cipher of the reader's master key and of field 62's keys) and, in
 * device_info, the schemes the reader supports (one byte each). Absent means 'des'.
 */
export const KEY_SCHEME_CODES: Readonly<Record<KeyScheme, number>> = {
  des: 0x01,
  sm4: 0x02,
};

/** The key schemes a device_info `key_scheme` value lists (unknown codes skipped; empty/absent = DES). */
export function decodeKeySchemes(value: Buffer | undefined): KeyScheme[] {
  if (!value || value.length === 0) return ['des'];
  const out: KeyScheme[] = [];
  for (const b of value) {
    const s = (Object.keys(KEY_SCHEME_CODES) as KeyScheme[]).find((k) => KEY_SCHEME_CODES[k] === b);
    if (s && !out.includes(s)) out.push(s);
  }
  return out;
}

export const KEY_NAME_CODES: Readonly<Record<'tmk' | 'pik' | 'mak' | 'tdk', number>> = {
  tmk: 0x00,
  pik: 0x01,
  mak: 0x02,
  tdk: 0x03,
};

/** Capabilities bitmap (DF15, 2 bytes). */
export const CAPABILITY_BITS = {
  chip: 0x0001,
  contactless: 0x0002,
  magstripe: 0x0004,
  keyed: 0x0008,
  pinpad: 0x0010,
  display: 0x0020,
  printer: 0x0040,
} as const;
export type Capability = keyof typeof CAPABILITY_BITS;

export function encodeCapabilities(caps: readonly Capability[]): Buffer {
  let v = 0;
  for (const c of caps) v |= CAPABILITY_BITS[c];
  return Buffer.from([v >> 8, v & 0xff]);
}

export function decodeCapabilities(b: Buffer | undefined): Capability[] {
  if (!b || b.length === 0) return [];
  const v = b.readUIntBE(0, Math.min(2, b.length));
  return (Object.entries(CAPABILITY_BITS) as [Capability, number][])
    .filter(([, bit]) => v & bit)
    .map(([k]) => k);
}

export function encodeInterfaces(list: readonly CardInterface[]): number {
  let v = 0;
  for (const i of list) v |= INTERFACE_BITS[i];
  return v;
}

export function decodeInterfaces(v: number): CardInterface[] {
  return (Object.entries(INTERFACE_BITS) as [CardInterface, number][])
    .filter(([, bit]) => v & bit)
    .map(([k]) => k);
}

/** n12 amount as 6 bytes BCD (EMV 9F02). */
export function encodeAmount(amount: bigint): Buffer {
  if (typeof amount !== 'bigint' || amount < 0n || amount > 999_999_999_999n) {
    throw new ReaderError('reader_protocol_error', 'amount must be 0 to 999999999999 minor units', {
      reason: 'bad_value',
    });
  }
  return Buffer.from(amount.toString().padStart(12, '0'), 'hex');
}

export function decodeAmount(b: Buffer): bigint | undefined {
  const digits = b.toString('hex');
  return /^[0-9]{1,12}$/.test(digits) ? BigInt(digits) : undefined;
}

/** n3 currency as 2 bytes BCD (EMV 5F2A), e.g. "156" → 01 56. */
export function encodeCurrency(currency: string): Buffer {
  if (!/^[0-9]{3}$/.test(currency)) {
    throw new ReaderError('reader_protocol_error', 'currency must be 3 digits (ISO 4217 numeric)', {
      reason: 'bad_value',
    });
  }
  return Buffer.from(`0${currency}`, 'hex');
}

export function decodeCurrency(b: Buffer): string | undefined {
  const d = b.toString('hex');
  return /^0[0-9]{3}$/.test(d) ? d.slice(1) : undefined;
}

export function uint16(n: number): Buffer {
  return Buffer.from([(n >> 8) & 0xff, n & 0xff]);
}
