import type { TextEncodingName } from './encodings/text.js';

/**
 * Dialect files (protocols/iso8583/*.json) are data of these shapes; protocols/iso8583/dialect.schema.json
 * is the JSON Schema. A field is composed of parts (data type, encoding, length, prefix, padding), in the
 * manner of moov-io/iso8583 and pyiso8583, rather than picked from a zoo of classes.
 */

/** n: digits; z: track nibbles (0-9, A-F, D separator); an / ans: text; b: bytes; x+n: C/D sign + digits. */
export type DataType = 'n' | 'z' | 'an' | 'ans' | 'b' | 'x+n';

/** bcd: packed nibbles; binary: raw bytes; hex: bytes written as ASCII hex characters; else text encodings. */
export type DataEncoding = TextEncodingName | 'bcd' | 'binary' | 'hex';

export type PrefixEncoding = 'ascii' | 'bcd' | 'binary' | 'ebcdic';

export interface PrefixSpec {
  encoding: PrefixEncoding;
  /** Number of length digits: 2 = LLVAR, 3 = LLLVAR, 4 = LLLLVAR. Binary prefixes use 1 byte up to LL, else 2. */
  digits: 1 | 2 | 3 | 4;
}

export interface SubfieldSpec {
  id: string;
  name: string;
  /** Fixed length in the parent's units (digits or characters). */
  length: number;
  type?: 'n' | 'an' | 'ans';
  /** Meaning of known values, for describe() and QA. */
  values?: Record<string, string>;
}

export interface FieldSpec {
  name: string;
  type: DataType;
  encoding: DataEncoding;
  /** Fixed length, or the maximum when `prefix` is set. Counts digits (n, x+n without its sign), nibbles (z), bytes (b, text). */
  length: number;
  prefix?: PrefixSpec;
  /** What the prefix counts when it is not the natural unit: "bytes" for a BCD field whose prefix gives the byte count. */
  count?: 'natural' | 'bytes';
  /** Odd digit counts in BCD: right-aligned (leading pad nibble) or left-aligned (trailing pad nibble). Text: side the value sits on when padded. */
  align?: 'left' | 'right';
  /** BCD pad nibble ("0" or "F"); for fixed text fields, the character `pack` pads short values with. */
  pad?: string;
  /** x+n: sign characters accepted (default "CD"). */
  signChars?: string;
  /** pan: returned as `Pan`; bytes: returned as `SensitiveBytes`. Both are masked in describe() and errors. */
  sensitive?: 'pan' | 'bytes';
  /** What the bytes hold, for the engine and describe(): e.g. "ber-tlv" for field 55. The codec keeps them as bytes. */
  content?: string;
  /** Positional subfields (e.g. UnionPay field 60). The value may end at any subfield boundary. */
  subfields?: SubfieldSpec[];
  /** Meaning of known values (e.g. response codes), for describe(). */
  values?: Record<string, string>;
}

export interface MessageRule {
  /** e.g. "sale". */
  name: string;
  /** Field values that select this rule, e.g. { "3": "000000" }; a value ending in "*" matches a prefix. */
  when?: Record<string, string>;
  mandatory?: number[];
  optional?: number[];
  forbidden?: number[];
  /** When true, fields outside mandatory ∪ optional are forbidden. */
  closed?: boolean;
}

export interface MessageSpec {
  name?: string;
  /** Field layouts that differ for this message type only. */
  fields?: Record<string, Partial<FieldSpec> | null>;
  rules?: MessageRule[];
}

export interface HeaderPartSpec {
  name: string;
  /** Width in nibbles (the cup-pos header is BCD-like nibbles). */
  nibbles: number;
  /** A non-zero value is a request from the host, reported by its meaning in `flags`. */
  flag?: boolean;
  /** Meaning of values. */
  values?: Record<string, string>;
}

export interface FramingSpec {
  lengthHeader: 'none' | '2-byte-binary' | '2-byte-bcd' | '4-byte-ascii';
  /** Does the length count the length header itself? Almost never. */
  lengthIncludesHeader?: boolean;
  /** Default TPDU (hex), if the dialect uses one. */
  tpdu?: string | null;
  /** Default header bytes (hex), if any. */
  header?: string | null;
  /** How to read the header: named nibble groups. */
  headerParts?: HeaderPartSpec[];
  /** Largest frame accepted, in bytes. */
  maxFrame?: number;
}

export interface MacSpec {
  /** MAC field with only a primary bitmap, and with a secondary bitmap. */
  field: number;
  fieldWithSecondary?: number;
  /** "mti-to-mac": MTI, bitmaps and every field before the MAC field (cup-pos: MTI..field 63). */
  input: 'mti-to-mac';
  algorithm?: string;
  /** Message types that carry a MAC. */
  messages?: string[];
  /**
   * DUKPT MACs: a message that carries a KSN (the field whose `content` is 'dukpt-ksn') is MACed with
   * that transaction's DUKPT MAC keys (request key out, response key back) instead of the session MAK.
   */
  dukpt?: boolean;
}

/** How requests and responses pair up, and optional exchanges (echo, sign-on, status inquiry). */
export interface ExchangeSpec {
  /** Request MTI → response MTI (default: request + 10; a repeat 0401 is answered by 0410). */
  responses?: Record<string, string>;
  /** Fields that, with the response MTI, match an answer to its request (default [11, 41]). */
  match?: number[];
  echo?: { mti: string; fields?: Record<string, unknown> } | null;
  signOn?: SignOnSpec | null;
  /** Present only when the acquirer answers "what happened to STAN n?"; the engine asks before reversing. */
  statusInquiry?: { mti: string; networkCode: string; notFoundCodes?: string[] } | null;
  /**
   * Present only when the acquirer takes electronic signatures (cup-pos 0920 → 0930): the engine queues
   * each signature it keeps as an upload in the store-and-forward advice lane.
   */
  signatureUpload?: SignatureUploadSpec | null;
  /** Present only when the acquirer serves CAPK and IC parameter downloads (docs/terminal-management.md). */
  terminalManagement?: TerminalManagementSpec | null;
}

/** One message of a terminal-management flow: MTI and 60.3. */
export interface TmsExchangeSpec {
  mti: string;
  networkCode: string;
}

/** The layout of one tag of a field-62 TLV entry. */
export interface TmsTagSpec {
  /** The record field it fills (e.g. "modulus"). */
  name: string;
  /** b: bytes; n: BCD digits; amount: binary minor units; date: YYYYMMDD as 8 ASCII digits or 4 BCD bytes. */
  format: 'b' | 'n' | 'amount' | 'date';
  min: number;
  max: number;
  required?: boolean;
}

/** Query (status upload) → download each entry → end, for one kind of set. */
export interface TmsKindSpec {
  query: TmsExchangeSpec;
  download: TmsExchangeSpec;
  end: TmsExchangeSpec;
  /** Tags of one entry of the query's answer, in order. */
  listTags: string[];
  /** Tags of an entry a download request names. */
  requestTags: string[];
  tags: Record<string, TmsTagSpec>;
}

export interface TerminalManagementSpec {
  /** The field that carries the TLV data (cup-pos 62). */
  field: number;
  /** 60.1 of these messages (default "00"). */
  transactionType?: string;
  /** First character of a query's field, followed by two digits: how many entries the terminal holds already. */
  queryStart?: string;
  /** First byte of an answer's field (an ASCII digit) → none | last | more. */
  status?: Record<string, 'none' | 'last' | 'more'>;
  capk: TmsKindSpec;
  aid: TmsKindSpec;
}

/** Sign-on (cup-pos 0800 → 0810 with the working keys in field 62). */
export interface SignOnSpec {
  mti: string;
  /** 60.3 per working-key layout, e.g. { "double": "004" }. */
  networkCodes?: Record<string, string>;
  /** Block cipher of the keys this acquirer delivers: 'des' (DES/3DES, the default) or 'sm4'. */
  keyScheme?: 'des' | 'sm4';
}

/** The electronic-signature upload exchange (docs/acquirer-messages.md §3.14). */
export interface SignatureUploadSpec {
  mti: string;
  /** 60.1 of the upload, e.g. "07". */
  transactionType: string;
  /** 60.3 of the upload, e.g. "800". */
  networkCode: string;
  /** The field that carries the image record (cup-pos 62). */
  imageField: number;
  /** Largest image record per message (default: the field's length). */
  maxImageBytes?: number;
  /** Optional field for the e-signature TLV (cup-pos 55, private tags FF00..). */
  tlvField?: number;
}

export interface DialectFile {
  $schema?: string;
  name: string;
  description?: string;
  extends?: string;
  mti: { encoding: 'ascii' | 'bcd' | 'ebcdic' };
  bitmap: { encoding: 'binary' | 'hex'; tertiary?: boolean };
  framing?: FramingSpec;
  mac?: MacSpec;
  fields: Record<string, FieldSpec | null>;
  messages?: Record<string, MessageSpec>;
  exchanges?: ExchangeSpec;
  /** Names of message types for describe(). */
  mtiNames?: Record<string, string>;
}
