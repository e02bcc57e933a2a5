/**
 * Settlement messages (cup-pos; docs/acquirer-messages.md §3.12, §3.13), in the style of
 * src/engine/messages.ts: field maps built from journal rows, the PAN passed in as a `Pan` (never a
 * string) and only where the message carries it.
 */
import type { Pan } from '../../card/index.js';
import type { Iso8583MessageInput } from '../../iso8583/index.js';
import { COMPLETION_VOID_TYPE, TEMPLATES, amount12 } from '../messages.js';
import type { OpRow } from './store.js';

export interface SettlementContext {
  terminalId: string;
  merchantId: string;
  currency: string;
  /** The batch being settled (60.2 of every message of the close). */
  batch: string;
  stan: string;
}

type Fields = Record<number, unknown>;

/** 0500: totals in field 48, 60 = 00 + batch + 201. */
export function settlementMessage(
  ctx: SettlementContext,
  f48: string,
  operator?: string,
): Iso8583MessageInput {
  const fields: Fields = {
    11: ctx.stan,
    41: ctx.terminalId,
    42: ctx.merchantId,
    48: f48,
    49: ctx.currency,
    60: { '1': '00', '2': ctx.batch, '3': '201' },
  };
  if (operator) fields[63] = operator;
  return { mti: '0500', fields: fields as Iso8583MessageInput['fields'] };
}

/** Field 61 of an operation (batch + STAN + local date) from the columns settlement reads. */
export function originalRefOf(op: Pick<OpRow, 'batch' | 'stan' | 'localDate'>): string {
  return `${op.batch ?? '000000'}${op.stan ?? '000000'}${op.localDate ?? '0000'}`;
}

/** 60.1 of an operation as it was sent (a void of a capture is a completion void). */
export function transactionType(op: OpRow, originalKind?: string): string {
  if (op.kind === 'void' && originalKind === 'capture') return COMPLETION_VOID_TYPE;
  return TEMPLATES[op.kind].type;
}

/**
 * 0320 / 201: one transaction of the batch after an unbalanced answer. Field 2 when the PAN is still
 * sealed (the host itself finds the original by 61, so an upload without it is still understood).
 */
export function batchUploadMessage(
  op: OpRow,
  pan: Pan | undefined,
  ctx: SettlementContext,
): Iso8583MessageInput {
  const t = TEMPLATES[op.kind];
  const fields: Fields = {
    3: t.processingCode,
    4: amount12(op.approvedAmount ?? op.amount),
    11: ctx.stan,
    22: op.entryMode ?? '012',
    41: ctx.terminalId,
    42: ctx.merchantId,
    49: ctx.currency,
    60: { '1': transactionType(op), '2': ctx.batch, '3': '201' },
    61: originalRefOf(op),
  };
  if (pan) fields[2] = pan;
  if (op.rrn) fields[37] = op.rrn;
  if (op.authCode) fields[38] = op.authCode;
  return { mti: '0320', fields: fields as Iso8583MessageInput['fields'] };
}

/** 0320 / 202: upload end, field 48 = number of 0320 / 201 messages (n4). */
export function uploadEndMessage(ctx: SettlementContext, count: number): Iso8583MessageInput {
  return {
    mti: '0320',
    fields: {
      11: ctx.stan,
      41: ctx.terminalId,
      42: ctx.merchantId,
      48: String(Math.min(count, 9999)).padStart(4, '0'),
      60: { '1': '00', '2': ctx.batch, '3': '202' },
    } as Iso8583MessageInput['fields'],
  };
}
