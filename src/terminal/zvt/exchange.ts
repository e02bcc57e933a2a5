/**
 * One command under ZVT's master-rights rule (spec16 §5.1, spec15 §2.2): the ECR sends the command and
 * waits T3 for `80 00` (or `84 xx`: refused, the exchange ends). Then the PT is master and may send
 * Intermediate Status 04 FF, Status-Information 04 0F, Print Line 06 D1 / Text-Block 06 D3 and Set
 * Date/Time 04 01 in any number; the ECR answers each with `80 00 00`. Completion 06 0F or Abort 06 1E
 * (also answered) gives the master rights back. T4 runs from the `80 00` to the end and restarts with
 * every 04 FF, 04 0F and print command; a `<timeout>` in 04 FF sets it in minutes.
 */
import type { Logger } from 'pino';
import type { IntegratedProgressEvent, TerminalResult } from '../integrated.js';
import { apduCode, type Apdu } from './apdu.js';
import { findBmp } from './bitmaps.js';
import type { ZvtCharset } from './charset.js';
import { decodeMessage, encodeMessage, type ZvtMessage } from './codec.js';
import { ZvtError, hex2 } from './errors.js';
import type { Inbox } from './inbox.js';
import { ack, nack } from './messages.js';
import { ReceiptCollector, printLineOf, textBlockOf } from './receipt.js';
import { abortOf, intermediateOf, statusToResult, type AbortInfo } from './status.js';
import type { ZvtTables } from './tables.js';
import type { ZvtLink } from './transport.js';

export interface ExchangeTimers {
  /** Command → 80 00 / 84 xx (spec16 §5.2.5, default 5 s). */
  t3Ms: number;
  /** 80 00 → Completion / Abort, restarted by every status (spec16 §5.2.6, default 180 s). */
  t4Ms: number;
  /** Let a terminal's 04 FF `<timeout>` (minutes) replace T4 (default true). */
  honourTerminalT4: boolean;
}

export type ExchangeEnd =
  /** The command never reached the terminal's application (write failed, no ACK, no 80 00 within T3, link lost before it). */
  | 'not_sent'
  /** The terminal answered 84 xx: it did nothing. */
  | 'refused'
  /** Commands that end with the 80 00 itself (Log-Off, Abort). */
  | 'acknowledged'
  | 'completion'
  | 'abort'
  /** No Completion / Abort within T4 after the 80 00. */
  | 'timeout'
  /** The link went down after the 80 00. */
  | 'lost';

export interface ExchangeResult {
  end: ExchangeEnd;
  command: string;
  /** not_sent: why. */
  notSent?: 'link_down' | 'not_acknowledged' | 't3_expired';
  /** refused: the APRC. */
  refusedCode?: string;
  /** Status-Information messages received, in order. */
  statuses: ZvtMessage[];
  /** The last Status-Information read as a result. */
  result?: TerminalResult;
  completion?: ZvtMessage;
  abort?: AbortInfo;
  receipt?: { merchant: string[]; customer: string[] };
  /** A message we could not read (answered 84 9A): the outcome cannot be trusted. */
  protocolError?: string;
  /** Data of the 80 00 answer (Log-Off, Abort). */
  ackData?: ZvtMessage;
}

export interface ExchangeContext {
  link: ZvtLink;
  inbox: Inbox;
  tables: ZvtTables;
  timers: ExchangeTimers;
  charset: ZvtCharset;
  logger?: Logger | undefined;
  onProgress?: ((e: IntegratedProgressEvent) => void) | undefined;
}

export interface ExchangeOptions {
  /** The command ends with its 80 00 (no Completion). */
  endsWithAck?: boolean;
  /** Decode the Completion with this command's layout (`05 01`). */
  after?: string;
}

const PT_MASTER_CODES = new Set(['04 FF', '04 0F', '06 D1', '06 D3', '04 01', '06 0F', '06 1E']);

export async function runExchange(
  ctx: ExchangeContext,
  command: ZvtMessage,
  options: ExchangeOptions = {},
): Promise<ExchangeResult> {
  const code = apduCode(command);
  const res: ExchangeResult = { end: 'not_sent', command: code, statuses: [] };
  const log = ctx.logger;
  ctx.inbox.clear();
  try {
    await ctx.link.send(encodeMessage(command, ctx.tables));
  } catch (e) {
    res.notSent = e instanceof ZvtError && e.code === 'not_acknowledged' ? 'not_acknowledged' : 'link_down';
    return res;
  }

  // Phase 1: wait T3 for the terminal's answer to the command.
  let pending: Apdu | undefined;
  for (;;) {
    const item = await ctx.inbox.next(ctx.timers.t3Ms);
    if (item === 'timeout') {
      res.notSent = 't3_expired';
      return res;
    }
    if (item === 'closed') {
      res.notSent = 'link_down';
      return res;
    }
    if (item.cls === 0x80 || (item.cls === 0x84 && item.ins === 0x00)) {
      if (options.endsWithAck) {
        res.end = 'acknowledged';
        res.ackData = decodeMessage(item, { lenient: true, tables: ctx.tables });
        return res;
      }
      break;
    }
    if (item.cls === 0x84) {
      res.end = 'refused';
      res.refusedCode = hex2(item.ins);
      return res;
    }
    if (PT_MASTER_CODES.has(apduCode(item))) {
      // The terminal skipped the 80 00 and already acts as master: take that as acceptance.
      log?.warn(
        { command: code, got: apduCode(item) },
        'ZVT terminal sent no 80 00 before its first message',
      );
      pending = item;
      break;
    }
    log?.warn({ command: code, got: apduCode(item) }, 'ZVT message ignored while waiting for 80 00');
  }

  // Phase 2: the terminal is master until Completion or Abort.
  const receipts = new ReceiptCollector();
  let t4 = ctx.timers.t4Ms;
  let deadline = Date.now() + t4;
  const finish = (end: ExchangeEnd): ExchangeResult => {
    res.end = end;
    const receipt = receipts.result();
    if (receipt) res.receipt = receipt;
    return res;
  };
  const reply = async (m: ZvtMessage): Promise<void> => {
    await ctx.link.send(encodeMessage(m, ctx.tables)).catch(() => undefined);
  };
  for (;;) {
    let item: Apdu | 'timeout' | 'closed';
    if (pending) {
      item = pending;
      pending = undefined;
    } else item = await ctx.inbox.next(deadline - Date.now());
    if (item === 'timeout') return finish('timeout');
    if (item === 'closed') return finish('lost');
    const got = apduCode(item);
    if (item.cls === 0x80 || item.cls === 0x84) continue; // the answer to our Abort 06 B0
    let m: ZvtMessage;
    try {
      m = decodeMessage(item, {
        lenient: true,
        direction: 'PT->ECR',
        tables: ctx.tables,
        ...(options.after ? { after: options.after } : {}),
      });
    } catch (e) {
      res.protocolError = `${got}: ${(e as Error).message}`;
      await reply(nack(0x9a));
      continue;
    }
    switch (got) {
      case '04 FF': {
        await reply(ack());
        const info = intermediateOf(m, ctx.tables, ctx.charset);
        if (info.timeoutMinutes && ctx.timers.honourTerminalT4) t4 = info.timeoutMinutes * 60_000;
        deadline = Date.now() + t4;
        ctx.onProgress?.({
          progress: info.progress,
          ...(info.text ? { text: info.text } : {}),
          at: new Date(),
        });
        break;
      }
      case '04 0F': {
        if (m.rest && !findBmp(m.bmps, 0x27)) {
          // Unreadable: refuse it, so the terminal reverses rather than stores what we cannot journal.
          res.protocolError = `04 0F: unreadable data at BMP ${hex2(m.rest[0] ?? 0)}`;
          await reply(nack(0x9a));
        } else {
          await reply(ack());
          res.statuses.push(m);
          res.result = statusToResult(m, ctx.charset);
        }
        deadline = Date.now() + t4;
        break;
      }
      case '06 D1':
        await reply(ack());
        receipts.add(printLineOf(m, ctx.charset));
        deadline = Date.now() + t4;
        break;
      case '06 D3':
        await reply(ack());
        receipts.add(textBlockOf(m, ctx.charset));
        deadline = Date.now() + t4;
        break;
      case '04 01':
        await reply(ack());
        deadline = Date.now() + t4;
        break;
      case '06 0F':
        await reply(ack());
        res.completion = m;
        return finish('completion');
      case '06 1E':
        await reply(ack());
        res.abort = abortOf(m);
        return finish('abort');
      default:
        // Dial-up, menus, blocked-list queries...: not supported by this ECR.
        log?.warn({ command: code, got }, 'ZVT terminal command not supported by posbridge: 84 83');
        await reply(nack(0x83));
    }
  }
}
