/**
 * How an exchange maps to `IntegratedOutcome` (src/terminal/integrated.ts):
 * - nothing left, or no 80 00 within T3 (over TCP the whole process then counts as aborted, spec16
 *   §5.2.5) → `not_sent`;
 * - 84 83 → `not_supported`; 84 A0 (receiver not ready) or 84 9C (please wait) → `busy`; any other
 *   84 xx → `declined` with that code (the terminal refused before doing anything);
 * - Completion 06 0F → `approved`, unless the Status-Information carried a result code other than 00
 *   (then `declined`); Abort 06 1E → `declined` with its result code;
 * - after the 80 00, T4 expiry or a lost link → `unknown` (the terminal may have charged the card);
 *   a Status-Information we could not read → `unknown` (`protocol_error`).
 */
import type { IntegratedOutcome, TerminalResult } from '../integrated.js';
import type { ExchangeResult } from './exchange.js';
import { statusResultCode, resultMessage } from './status.js';
import type { ZvtTables } from './tables.js';

export const BUSY_CODES: ReadonlySet<string> = new Set(['A0', '9C']);
export const NOT_SUPPORTED_CODES: ReadonlySet<string> = new Set(['83']);

function withReceipt(result: TerminalResult | undefined, r: ExchangeResult): TerminalResult {
  return { ...(result ?? {}), ...(r.receipt ? { receipt: r.receipt } : {}) };
}

export function toOutcome(r: ExchangeResult, tables: ZvtTables): IntegratedOutcome {
  const last = r.statuses.at(-1);
  const approvedSeen = last !== undefined && statusResultCode(last) === '00';
  switch (r.end) {
    case 'not_sent':
      return r.notSent === 'link_down'
        ? {
            status: 'not_sent',
            reason: 'link_down',
            message: `${r.command}: the link to the terminal is down`,
          }
        : {
            status: 'not_sent',
            reason: 'not_acknowledged',
            message:
              r.notSent === 't3_expired'
                ? `${r.command}: no 80 00 from the terminal within T3`
                : `${r.command}: the terminal did not acknowledge the frame`,
          };
    case 'refused': {
      const code = r.refusedCode ?? 'FF';
      const message = `${r.command} refused: ${tables.nackMeaning(code) ?? `84 ${code}`}`;
      if (NOT_SUPPORTED_CODES.has(code)) return { status: 'not_supported', code, message };
      if (BUSY_CODES.has(code))
        return { status: 'busy', message: `${r.command}: terminal busy (${resultMessage(tables, code)})` };
      return { status: 'declined', resultCode: code, message };
    }
    case 'acknowledged':
      return { status: 'approved', result: {} };
    case 'completion': {
      if (r.protocolError)
        return { status: 'unknown', reason: 'protocol_error', message: `${r.command}: ${r.protocolError}` };
      if (last && !approvedSeen) {
        const code = statusResultCode(last);
        return {
          status: 'declined',
          resultCode: code,
          message: resultMessage(tables, code),
          result: withReceipt(r.result, r),
        };
      }
      return { status: 'approved', result: withReceipt(r.result ?? { resultCode: '00' }, r) };
    }
    case 'abort': {
      const code = r.abort?.resultCode ?? 'FF';
      return {
        status: 'declined',
        resultCode: code,
        message: resultMessage(tables, code),
        ...(r.result || r.receipt ? { result: withReceipt(r.result, r) } : {}),
      };
    }
    case 'timeout':
      return {
        status: 'unknown',
        reason: 'timeout',
        message: `${r.command}: no completion within T4${approvedSeen ? ' after the terminal reported result 00' : ''}`,
      };
    case 'lost':
      return {
        status: 'unknown',
        reason: 'connection_lost',
        message: `${r.command}: link lost before the completion${approvedSeen ? ' after the terminal reported result 00' : ''}`,
      };
  }
}
