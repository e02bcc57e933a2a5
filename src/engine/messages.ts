import { Pan, type SensitiveBytes } from '../card/index.js';
import { buildField55, parseTlv } from '../emv/index.js';
import type { Iso8583MessageInput } from '../iso8583/index.js';
import type { OperationKind, OperationRow } from '../journal/index.js';
import type { CardResult } from '../terminal/reader.js';

/**
 * How each operation looks on the wire (cup-pos; docs/acquirer-messages.md). Kept as a table so that
 * another acquirer's codes are data, not code paths.
 */
export interface MessageTemplate {
  mti: string;
  processingCode: string;
  /** 60.1 transaction type. */
  type: string;
  /** Field 25 POS condition code. */
  condition: string;
}

export const TEMPLATES: Readonly<Record<OperationKind, MessageTemplate>> = {
  sale: { mti: '0200', processingCode: '000000', type: '22', condition: '00' },
  balance: { mti: '0200', processingCode: '310000', type: '01', condition: '00' },
  preauth: { mti: '0100', processingCode: '030000', type: '10', condition: '06' },
  preauth_void: { mti: '0100', processingCode: '200000', type: '11', condition: '06' },
  capture: { mti: '0200', processingCode: '000000', type: '20', condition: '06' },
  void: { mti: '0200', processingCode: '200000', type: '23', condition: '00' },
  refund: { mti: '0220', processingCode: '200000', type: '25', condition: '00' },
};

/** Completion void uses its own 60.1. */
export const COMPLETION_VOID_TYPE = '21';

export interface Context {
  terminalId: string;
  merchantId: string;
  currency: string;
  batch: string;
  stan: string;
  now: Date;
  partialApproval: boolean;
  /** The dialect's KSN field (the field whose content is 'dukpt-ksn'), for DUKPT readers. */
  ksnField?: number;
}

type Fields = Record<number, unknown>;

export function amount12(amount: number): string {
  return String(amount).padStart(12, '0');
}

function timeFields(now: Date): { 12: string; 13: string } {
  const p = (n: number) => String(n).padStart(2, '0');
  return {
    12: `${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`,
    13: `${p(now.getMonth() + 1)}${p(now.getDate())}`,
  };
}

function readCapability(card: CardResult): string {
  return card.interface === 'contactless' ? '6' : card.interface === 'chip' ? '5' : '2';
}

/** Field 55 for a request: the reader's TLV filtered through the profile (sensitive tags dropped). */
export function requestIcc(card: CardResult, profile: string): Buffer | undefined {
  if (!card.iccData || card.iccData.length === 0) return undefined;
  const parsed = parseTlv(card.iccData, { copy: true });
  const built = buildField55(parsed.elements, profile);
  return built.bytes.length ? Buffer.from(built.bytes) : undefined;
}

/** A card-present request (sale, balance, pre-auth, and a refund or void with the card presented). */
export function cardRequest(
  kind: OperationKind,
  op: OperationRow,
  card: CardResult,
  icc: Buffer | undefined,
  ctx: Context,
  extra: Fields = {},
): Iso8583MessageInput {
  const t = TEMPLATES[kind];
  const fields: Fields = {
    2: card.pan,
    3: t.processingCode,
    11: ctx.stan,
    ...timeFields(ctx.now),
    22: card.entryMode,
    25: t.condition,
    41: ctx.terminalId,
    42: ctx.merchantId,
    49: ctx.currency,
    60: {
      '1': t.type,
      '2': ctx.batch,
      '3': '000',
      '4': readCapability(card),
      '5': card.fallback ? '2' : '0',
      '6': ctx.partialApproval && kind !== 'balance' ? '1' : '0',
    },
    ...extra,
  };
  if (kind !== 'balance') fields[4] = amount12(op.amount);
  if (card.expiry) fields[14] = card.expiry;
  if (card.cardSequenceNumber) fields[23] = card.cardSequenceNumber;
  if (card.track2) fields[35] = card.track2;
  if (card.track3) fields[36] = card.track3;
  if (card.pinBlock) {
    fields[26] = '12';
    fields[52] = card.pinBlock;
    // A DUKPT reader's KSN goes where the dialect carries it, the block unchanged; else session-key 53.
    if (card.ksn && ctx.ksnField !== undefined) fields[ctx.ksnField] = card.ksn;
    else fields[53] = '2600000000000000';
  }
  if (icc) fields[55] = icc;
  return { mti: t.mti, fields: fields as Iso8583MessageInput['fields'] };
}

/** Field 61: original batch + STAN + date (MMDD, 0000 when unknown). */
export function originalRef(original: OperationRow): string {
  return `${original.batch ?? '000000'}${original.stan ?? '000000'}${original.localDate ?? '0000'}`;
}

/**
 * A request that references an original without reading the card again (void, capture, pre-auth void,
 * refund while the original's PAN is still sealed).
 */
export function referencedRequest(
  kind: OperationKind,
  op: OperationRow,
  original: OperationRow,
  pan: Pan,
  ctx: Context,
): Iso8583MessageInput {
  const t = TEMPLATES[kind];
  const type = kind === 'void' && original.kind === 'capture' ? COMPLETION_VOID_TYPE : t.type;
  const fields: Fields = {
    2: pan,
    3: t.processingCode,
    4: amount12(op.amount),
    11: ctx.stan,
    ...timeFields(ctx.now),
    22: original.card?.entryMode ?? '012',
    25: type === COMPLETION_VOID_TYPE ? '06' : t.condition,
    41: ctx.terminalId,
    42: ctx.merchantId,
    49: ctx.currency,
    60: { '1': type, '2': ctx.batch, '3': '000' },
    61: originalRef(original),
  };
  if (original.rrn && (kind === 'void' || kind === 'refund')) fields[37] = original.rrn;
  if (original.authCode && (kind === 'capture' || kind === 'preauth_void' || type === COMPLETION_VOID_TYPE))
    fields[38] = original.authCode;
  return { mti: t.mti, fields: fields as Iso8583MessageInput['fields'] };
}

/** What a prepared reversal keeps (no card data: the PAN is read from the sealed store when it is sent). */
export interface StoredReversal {
  fields: Record<string, string>;
  /** Field 55 for the reversal (hex), already profile-filtered. */
  icc?: string;
}

/** Prepares the reversal of a request before the request leaves. */
export function prepareReversal(
  request: Iso8583MessageInput,
  reversalIcc: Buffer | undefined,
): StoredReversal {
  const f = request.fields as Record<number, unknown>;
  const keep: Record<string, string> = {};
  for (const n of [3, 4, 11, 22, 25, 41, 42, 49]) {
    const v = f[n];
    if (typeof v === 'string') keep[String(n)] = v;
  }
  const f60 = f[60] as Record<string, string>;
  keep['60'] = `${f60['1']}${f60['2']}000`;
  if (typeof f[61] === 'string') keep['61'] = f[61] as string;
  return { fields: keep, ...(reversalIcc ? { icc: reversalIcc.toString('hex').toUpperCase() } : {}) };
}

/** The reversal message: 0400 first, 0401 for repeats; reason in field 39. */
export function reversalMessage(
  stored: StoredReversal,
  pan: Pan,
  reason: string,
  repeat: boolean,
  approval?: { authCode?: string | null },
): Iso8583MessageInput {
  const fields: Fields = { 2: pan, 39: reason };
  for (const [k, v] of Object.entries(stored.fields)) fields[Number(k)] = v;
  if (approval?.authCode) fields[38] = approval.authCode;
  if (stored.icc) fields[55] = Buffer.from(stored.icc, 'hex');
  return { mti: repeat ? '0401' : '0400', fields: fields as Iso8583MessageInput['fields'] };
}

/** The status inquiry (dialect exchanges.statusInquiry): what became of batch + STAN? */
export function inquiryMessage(
  mti: string,
  networkCode: string,
  original: OperationRow,
  ctx: Context,
): Iso8583MessageInput {
  return {
    mti,
    fields: {
      11: ctx.stan,
      41: ctx.terminalId,
      42: ctx.merchantId,
      60: { '1': '00', '2': ctx.batch, '3': networkCode },
      61: originalRef(original),
    } as Iso8583MessageInput['fields'],
  };
}

/**
 * An advice about an approved original, carrying chip data: TC upload (0320, 60.3 203) after an
 * approved chip transaction, or script result advice (0620, 60.3 951) when the issuer sent scripts.
 */
function adviceMessage(
  mti: string,
  networkCode: string,
  original: OperationRow,
  pan: Pan,
  icc: Buffer,
  ctx: Context,
): Iso8583MessageInput {
  const t = TEMPLATES[original.kind];
  const fields: Fields = {
    2: pan,
    3: t.processingCode,
    4: amount12(original.approvedAmount ?? original.amount),
    11: ctx.stan,
    22: original.card?.entryMode ?? '051',
    41: ctx.terminalId,
    42: ctx.merchantId,
    49: ctx.currency,
    55: icc,
    60: { '1': t.type, '2': ctx.batch, '3': networkCode },
    61: originalRef(original),
  };
  if (original.card?.cardSequenceNumber) fields[23] = original.card.cardSequenceNumber;
  if (original.rrn) fields[37] = original.rrn;
  return { mti, fields: fields as Iso8583MessageInput['fields'] };
}

export function tcUploadMessage(
  original: OperationRow,
  pan: Pan,
  icc: Buffer,
  ctx: Context,
): Iso8583MessageInput {
  return adviceMessage('0320', '203', original, pan, icc, ctx);
}

export function scriptAdviceMessage(
  original: OperationRow,
  pan: Pan,
  icc: Buffer,
  ctx: Context,
): Iso8583MessageInput {
  return adviceMessage('0620', '951', original, pan, icc, ctx);
}

/**
 * What an electronic-signature upload keeps in the store-and-forward queue: the exchange as the dialect
 * declares it and the bytes to send (the image record and the e-signature TLV, hex). No card data: the
 * PAN (field 2, conditional) is read from the sealed store when the upload goes out, while it is kept.
 */
export interface StoredSignatureUpload {
  mti: string;
  transactionType: string;
  networkCode: string;
  imageField: number;
  image: string;
  tlvField?: number;
  tlv?: string;
}

/**
 * The e-signature upload (cup-pos 0920, docs/acquirer-messages.md §3.14): the original's amount, RRN and
 * batch + STAN + date, the image record in field 62 and the e-signature TLV in field 55. Not MACed.
 */
export function esignUploadMessage(
  original: OperationRow,
  pan: Pan | undefined,
  stored: StoredSignatureUpload,
  ctx: Context,
): Iso8583MessageInput {
  const fields: Fields = {
    4: amount12(original.approvedAmount ?? original.amount),
    11: ctx.stan,
    41: ctx.terminalId,
    42: ctx.merchantId,
    60: { '1': stored.transactionType, '2': ctx.batch, '3': stored.networkCode },
    61: originalRef(original),
    [stored.imageField]: Buffer.from(stored.image, 'hex'),
  };
  if (pan) fields[2] = pan;
  if (original.rrn) fields[37] = original.rrn;
  if (stored.tlvField && stored.tlv) fields[stored.tlvField] = Buffer.from(stored.tlv, 'hex');
  return { mti: stored.mti, fields: fields as Iso8583MessageInput['fields'] };
}

export type { SensitiveBytes };
