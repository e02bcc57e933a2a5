/**
 * The simulated terminal's transaction flows. Rules it follows from the spec:
 * - a command is acknowledged 80 00 00 first; then the terminal is master;
 * - intermediate status 04 FF only if the ECR set config bit 08 at registration;
 * - receipts to the ECR (06 D1, or 06 D3 if listed) only with config bits 80 + 02 (payments) or
 *   80 + 04 (administration); otherwise the terminal "prints" them itself;
 * - a transaction is booked only once the ECR acknowledged its Status-Information and every print
 *   command; otherwise it is auto-reversed (spec15 §2.2.8): the ledger shows it `reversed`;
 * - success ends with Completion 06 0F, failure with 04 0F 27 <code> then Abort 06 1E <code>.
 */
import {
  bmp,
  decodeAmount,
  decodeCurrency,
  encodeBcd,
  encodeTlv,
  tlv,
  findBmp,
  isBcd,
  nibbles,
  zvtMessages as M,
  type ZvtMessage,
} from '../../src/terminal/zvt/index.js';
import type { TestCard } from '../shared/cards.js';
import type { ZvtTxn, ZvtTxnType } from './ledger.js';
import {
  abortMessage,
  completion,
  endOfDayStatus,
  failureStatus,
  intermediate,
  statusEnquiryCompletion,
  statusInformation,
} from './pt-messages.js';
import { printLineMessages, receiptCopies, textBlockMessage, type ReceiptCopy } from './receipts.js';
import { SessionClosed, type PtSession } from './session.js';
import type { FlowSim } from './flow-sim.js';

const CARD_TYPE: Partial<Record<TestCard['scheme'], number>> = { visa: 0x0a, mastercard: 0x06 };
const CARD_NAME: Record<TestCard['scheme'], string> = {
  visa: 'VISA',
  mastercard: 'MASTERCARD',
  unionpay: 'UNIONPAY',
  amex: 'AMERICAN EXPRESS',
  jcb: 'JCB',
  discover: 'DISCOVER',
  diners: 'DINERS',
};

class Aborted extends Error {}

function wantsStatus(sim: FlowSim): boolean {
  return (sim.configByte & 0x08) !== 0;
}

async function status(sim: FlowSim, s: PtSession, code: number): Promise<void> {
  if (!wantsStatus(sim)) return;
  const r = await s.request(intermediate(code));
  if (r.kind === 'closed') throw new SessionClosed();
}

function checkAbort(sim: FlowSim, s: PtSession): void {
  if (s.abortRequested && !sim.behaviour.abortAfterApproval) throw new Aborted();
}

/** 04 0F 27 <code> 29 <TID>, then 06 1E <code>. */
async function fail(sim: FlowSim, s: PtSession, code: number): Promise<void> {
  const r = await s.request(failureStatus(code, sim.terminalId));
  if (r.kind === 'closed') throw new SessionClosed();
  await s.request(abortMessage(code));
}

/** Sends the receipts: true when the ECR took every line (or the terminal printed them itself). */
async function printReceipts(
  sim: FlowSim,
  s: PtSession,
  copies: ReceiptCopy[],
  admin: boolean,
): Promise<boolean> {
  const bit = admin ? 0x04 : 0x02;
  if (!(sim.configByte & 0x80) || !(sim.configByte & bit)) {
    for (const c of copies) sim.printed.push([...c.lines]);
    return true;
  }
  for (const c of copies) {
    const msgs = sim.textBlocks ? [textBlockMessage(c)] : printLineMessages(c);
    for (const m of msgs) {
      const r = await s.request(m);
      if (r.kind === 'closed') throw new SessionClosed();
      if (r.kind !== 'ack') return false;
    }
  }
  return true;
}

function card(sim: FlowSim): TestCard {
  return sim.cards.byId(sim.behaviour.card) ?? sim.cards.cards[0]!;
}

function authCodeFor(trace: string): string {
  return String((Number(trace) * 7919 + 104_729) % 1_000_000).padStart(6, '0');
}

function currencyOf(m: ZvtMessage): string | null {
  const cc = findBmp(m.bmps, 0x49);
  return cc && isBcd(cc.value) ? decodeCurrency(cc.value) : null;
}

/** Ends a booked transaction: drop before the Completion (fault) or Completion 06 0F. */
async function complete(sim: FlowSim, s: PtSession): Promise<void> {
  if (sim.consume('approveThenDropCompletion')) {
    sim.log?.info('ZVT simulator fault: closing before the completion');
    await s.close();
    return;
  }
  await s.request(completion());
}

/** Status-Information, receipts, booking: returns false (auto-reversed) if the ECR did not take them. */
async function deliver(
  sim: FlowSim,
  s: PtSession,
  status04: ZvtMessage,
  copies: ReceiptCopy[],
  admin = false,
): Promise<boolean> {
  let r;
  try {
    r = await s.request(status04);
  } catch (e) {
    if (e instanceof SessionClosed) return false;
    throw e;
  }
  if (r.kind !== 'ack') return false;
  try {
    return await printReceipts(sim, s, copies, admin);
  } catch (e) {
    if (e instanceof SessionClosed) return false;
    throw e;
  }
}

/** Sale 06 01, pre-authorisation 06 22, refund 06 31: the customer presents a card. */
export async function cardPayment(
  sim: FlowSim,
  s: PtSession,
  m: ZvtMessage,
  type: 'sale' | 'preauth' | 'refund',
): Promise<void> {
  const a = findBmp(m.bmps, 0x04);
  if (!a || !isBcd(a.value)) return s.send(M.nack(0x9a)); // mandatory element missing
  const amount = decodeAmount(a.value);
  const ecrCurrency = currencyOf(m);
  const currency = ecrCurrency ?? '978';
  const b = sim.behaviour;
  await s.send(M.ack());
  try {
    await status(sim, s, 0x0a); // insert card
    await s.sleep(b.cardDelayMs);
    if (b.customerCancels) throw new Aborted();
    checkAbort(sim, s);
    // PIN entry: a long one keeps the ECR's T4 alive with 04 FF every statusEveryMs.
    const pinEnd = Date.now() + b.longPinEntryMs;
    do {
      await status(sim, s, 0x01); // please watch PIN pad
      if (sim.consume('disconnectMidTransaction')) {
        sim.log?.info('ZVT simulator fault: closing during the PIN entry');
        await s.close();
        return;
      }
      await s.sleep(Math.min(b.statusEveryMs, Math.max(0, pinEnd - Date.now())));
      checkAbort(sim, s);
    } while (Date.now() < pinEnd);
    await status(sim, s, 0x04); // waiting for the host
    await s.sleep(b.processingMs);
    checkAbort(sim, s);
  } catch (e) {
    if (e instanceof Aborted) return fail(sim, s, 0x6c);
    throw e;
  }

  const c = card(sim);
  let rc = '00';
  if (!sim.currencies.has(currency)) rc = '6F';
  else if (b.declineAmountSuffix && type !== 'refund') {
    const o = sim.cards.outcomeFor(amount);
    // Host result codes 01-99 travel as a binary byte (result-codes.json: hex 01-63 = decimal 01-99).
    if (o?.outcome === 'decline') rc = Number(o.responseCode).toString(16).toUpperCase().padStart(2, '0');
  }
  const approved = rc === '00';
  const trace = sim.ledger.nextTrace();
  const txn: Omit<ZvtTxn, 'batch' | 'at'> = {
    receiptNo: approved ? sim.ledger.nextReceiptNo() : null,
    trace,
    turnoverNo: sim.ledger.nextTurnover(),
    type,
    status: approved ? (type === 'refund' ? 'refunded' : 'approved') : 'declined',
    amount,
    currency,
    resultCode: rc,
    maskedPan: c.pan.masked,
    cardId: c.id,
    authCode: approved ? authCodeFor(trace) : null,
    ...(type === 'preauth' && approved ? { hold: amount, captured: 0 } : {}),
    ...(b.signatureRequired ? { signature: true } : {}),
  };
  const view: ZvtTxn = { ...txn, batch: sim.ledger.batch, at: new Date().toISOString() };
  const statusMsg = statusInformation({
    txn: view,
    terminalId: sim.terminalId,
    echoCurrency: ecrCurrency !== null,
    cardName: CARD_NAME[c.scheme],
    cardType: CARD_TYPE[c.scheme] ?? null,
  });
  await status(sim, s, 0x0b); // please remove card
  // No receipt for a successful pre-authorisation (spec15 §2.2.7).
  const copies =
    type === 'preauth' && approved ? [] : receiptCopies(view, sim.terminalId, CARD_NAME[c.scheme]);
  const ok = await deliver(sim, s, statusMsg, copies);
  if (!ok) {
    if (approved) sim.ledger.add({ ...txn, status: 'reversed', reversal: 'auto_reversal', receiptNo: null });
    if (!s.closed) await s.request(abortMessage(0x6c));
    return;
  }
  sim.ledger.add(txn);
  sim.last = { status: statusMsg, copies };
  if (!approved) {
    await s.request(abortMessage(parseInt(rc, 16)));
    return;
  }
  await complete(sim, s);
}

const ORIGINAL_TYPES: Record<'void' | 'capture' | 'preauth_void', ZvtTxnType[]> = {
  void: ['sale'],
  capture: ['preauth'],
  preauth_void: ['preauth'],
};

/** Reversal 06 30, Book Total 06 24, Pre-Authorisation Reversal 06 25: by receipt number, no card. */
export async function byReceipt(
  sim: FlowSim,
  s: PtSession,
  m: ZvtMessage,
  type: 'void' | 'capture' | 'preauth_void',
): Promise<void> {
  const r = findBmp(m.bmps, 0x87);
  if (!r || !isBcd(r.value)) return s.send(M.nack(0x9a));
  const receiptNo = nibbles(r.value);
  const a = findBmp(m.bmps, 0x04);
  const amount = a && isBcd(a.value) ? decodeAmount(a.value) : undefined;
  const ecrCurrency = currencyOf(m);
  await s.send(M.ack());
  await status(sim, s, 0x04);
  await s.sleep(sim.behaviour.processingMs);
  const orig = sim.ledger.byReceipt(receiptNo, ORIGINAL_TYPES[type]);
  if (!orig) return fail(sim, s, type === 'void' ? 0xb5 : 0xb8);
  if (orig.status === 'reversed') return fail(sim, s, 0xb4);
  if (type !== 'void' && (orig.captured ?? 0) > 0) return fail(sim, s, 0xb8);
  if (type === 'void' && amount !== undefined && amount !== orig.amount) return fail(sim, s, 0xb5);
  if (type === 'capture' && amount !== undefined && amount > orig.amount) return fail(sim, s, 0xb7);
  const value = type === 'capture' ? (amount ?? orig.amount) : orig.amount;
  const trace = sim.ledger.nextTrace();
  const txn: Omit<ZvtTxn, 'batch' | 'at'> = {
    receiptNo: sim.ledger.nextReceiptNo(),
    trace,
    turnoverNo: sim.ledger.nextTurnover(),
    type,
    status: 'approved',
    amount: value,
    currency: ecrCurrency ?? orig.currency,
    resultCode: '00',
    maskedPan: orig.maskedPan,
    cardId: orig.cardId,
    authCode: authCodeFor(trace),
    originalReceiptNo: receiptNo,
  };
  const view: ZvtTxn = { ...txn, batch: sim.ledger.batch, at: new Date().toISOString() };
  const c = orig.cardId ? sim.cards.byId(orig.cardId) : undefined;
  const name = c ? CARD_NAME[c.scheme] : null;
  const statusMsg = statusInformation({
    txn: view,
    terminalId: sim.terminalId,
    echoCurrency: ecrCurrency !== null,
    cardName: name,
    cardType: c ? (CARD_TYPE[c.scheme] ?? null) : null,
    originalTrace: orig.trace,
  });
  const copies = receiptCopies(view, sim.terminalId, name);
  if (!(await deliver(sim, s, statusMsg, copies))) {
    if (!s.closed) await s.request(abortMessage(0x6c));
    return;
  }
  sim.ledger.add(txn);
  if (type === 'void') Object.assign(orig, { status: 'reversed', reversal: 'void' });
  if (type === 'capture') Object.assign(orig, { captured: value, hold: 0 });
  if (type === 'preauth_void') Object.assign(orig, { status: 'reversed', reversal: 'void', hold: 0 });
  sim.last = { status: statusMsg, copies };
  await complete(sim, s);
}

/** Repeat Receipt 06 20: service byte 01 → the last Status-Information; 02 → no receipt. */
export async function repeatReceipt(sim: FlowSim, s: PtSession, m: ZvtMessage): Promise<void> {
  const sb = findBmp(m.bmps, 0x03)?.value[0] ?? 0;
  await s.send(M.ack());
  const last = sim.last;
  if (last) {
    if (sb & 0x01) {
      const r = await s.request(last.status);
      if (r.kind === 'closed') return;
    }
    if (!(sb & 0x02)) await printReceipts(sim, s, last.copies, false);
  }
  await s.request(completion());
}

/** End-of-Day 06 50: totals of the batch, administration receipt, Completion. */
export async function endOfDay(sim: FlowSim, s: PtSession, m: ZvtMessage): Promise<void> {
  await s.send(M.ack());
  await status(sim, s, 0x0e);
  await s.sleep(sim.behaviour.processingMs);
  const totals = sim.ledger.closeBatch();
  const trace = sim.ledger.nextTrace();
  const txn = sim.ledger.add({
    receiptNo: null,
    trace,
    turnoverNo: sim.ledger.nextTurnover(),
    type: 'end_of_day',
    status: 'approved',
    amount: totals.total,
    currency: currencyOf(m) ?? '978',
    resultCode: '00',
    maskedPan: null,
    cardId: null,
    authCode: null,
    count: totals.count,
    batch: totals.batch,
  });
  const r = await s.request(endOfDayStatus(totals.total, trace, null));
  if (r.kind === 'closed') return;
  await printReceipts(sim, s, receiptCopies(txn, sim.terminalId, null), true);
  await s.request(completion());
}

/** Diagnosis 06 70. */
export async function diagnosis(sim: FlowSim, s: PtSession): Promise<void> {
  await s.send(M.ack());
  await status(sim, s, 0x0e);
  await s.sleep(sim.behaviour.processingMs);
  await s.request(completion());
}

/** Status-Enquiry 05 01: service byte 02 → no SW version; 04 → TLV with TID and device info. */
export async function statusEnquiry(sim: FlowSim, s: PtSession, m: ZvtMessage): Promise<void> {
  const sb = findBmp(m.bmps, 0x03)?.value[0] ?? 0;
  await s.send(M.ack());
  await s.request(
    statusEnquiryCompletion({
      swVersion: sb & 0x02 ? null : sim.swVersion,
      terminalStatus: sim.behaviour.busy ? 0x9c : 0x00,
      terminalId: sim.terminalId,
      model: 'posbridge ZVT simulator',
      withTlv: (sb & 0x04) !== 0,
    }),
  );
}

/**
 * Completion of Registration: 19 <status-byte> 29 <TID> [49 <CC>] [06 { 26 { 0A 06 D3 } }]: the list
 * of permitted commands is echoed with what the simulator supports of it (spec15 §2.1, §5 example).
 */
export function registrationCompletion(sim: FlowSim, cc: Buffer | undefined): ZvtMessage {
  const bmps = [bmp(0x19, [0x00]), bmp(0x29, encodeBcd(sim.terminalId, 4))];
  if (cc) bmps.push(bmp(0x49, cc));
  if (sim.textBlocks) bmps.push(bmp(0x06, encodeTlv([tlv('26', [tlv('0A', Buffer.from([0x06, 0xd3]))])])));
  return completion(bmps);
}
