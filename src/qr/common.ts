/** Small things both adapters share: input checks, buyer masking, the no-secrets view of an adapter. */
import type { Logger } from 'pino';
import { MAX_FEN } from './money.js';
import { notSent, type QrResult } from './provider.js';

export const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/** Minimal logger surface (a pino logger or child fits). */
export type QrLogger = Pick<Logger, 'info' | 'warn' | 'debug' | 'error'>;

export function checkAmount(amount: number, what = 'amount'): QrResult<never> | undefined {
  if (!Number.isSafeInteger(amount) || amount <= 0 || amount > MAX_FEN)
    return notSent('invalid_request', `${what} must be an integer number of fen 1..${MAX_FEN}`);
  return undefined;
}

export function checkNo(
  value: string,
  what: string,
  pattern: RegExp,
  hint: string,
): QrResult<never> | undefined {
  if (typeof value !== 'string' || !pattern.test(value))
    return notSent('invalid_request', `${what} must be ${hint}`);
  return undefined;
}

const hasControl = (s: string): boolean =>
  [...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

export function checkText(value: string, what: string, max: number): QrResult<never> | undefined {
  if (typeof value !== 'string' || value.trim() === '' || [...value].length > max || hasControl(value))
    return notSent('invalid_request', `${what} must be 1..${max} printable characters`);
  return undefined;
}

/** Alipay already masks buyer_logon_id ("159****5620", "tom***@alitest.com"); mask again anything that is not. */
export function maskLogonId(id: unknown): string | undefined {
  if (typeof id !== 'string' || id === '') return undefined;
  if (id.includes('*')) return id.slice(0, 64);
  const at = id.indexOf('@');
  if (at > 0) return `${id.slice(0, 1)}***${id.slice(at)}`.slice(0, 64);
  if (id.length <= 4) return '****';
  return `${id.slice(0, 3)}****${id.slice(-4)}`;
}

/** The first six characters of an openid, never the whole. */
export function maskOpenid(openid: unknown): string | undefined {
  if (typeof openid !== 'string' || openid === '') return undefined;
  return `${openid.slice(0, 6)}***`;
}

export const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
