/**
 * Alipay OpenAPI (gateway.do, "v2" protocol) signatures, RSA2 = SHA256withRSA, base64:
 * - request: every parameter except `sign` (and empty values), sorted by name, `name=value` joined by `&`,
 *   values unencoded, signed with the app private key;
 * - response: the exact text of the `<method>_response` (or `error_response`) member, signed by Alipay;
 * - asynchronous notification: every form parameter except `sign` and `sign_type`, sorted, joined as
 *   above with the decoded values, signed by Alipay.
 */
import { createSign, createVerify, type KeyObject } from 'node:crypto';
import { RawJsonError, rawMembers } from './json-raw.js';

export function alipaySignContent(
  params: Record<string, string>,
  exclude: readonly string[] = ['sign'],
): string {
  return Object.keys(params)
    .filter((k) => !exclude.includes(k) && params[k] !== undefined && params[k] !== '')
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join('&');
}

export function rsa2Sign(content: string, privateKey: KeyObject): string {
  return createSign('RSA-SHA256').update(content, 'utf8').sign(privateKey, 'base64');
}

export function rsa2Verify(content: string, signature: string, publicKey: KeyObject): boolean {
  if (!signature || !/^[A-Za-z0-9+/=\s]+$/.test(signature)) return false;
  try {
    return createVerify('RSA-SHA256').update(content, 'utf8').verify(publicKey, signature, 'base64');
  } catch {
    return false;
  }
}

/** The method's response member name: alipay.trade.query → alipay_trade_query_response */
export function alipayResponseKey(method: string): string {
  return `${method.replaceAll('.', '_')}_response`;
}

export type AlipayResponseCheck =
  | { ok: true; data: Record<string, unknown>; raw: string }
  | { ok: false; reason: 'malformed' | 'bad_signature'; message: string };

/** Finds the response member, checks Alipay's signature over its exact text, then parses it. */
export function verifyAlipayResponse(
  text: string,
  method: string,
  alipayPublicKey: KeyObject,
): AlipayResponseCheck {
  let members: Map<string, string>;
  try {
    members = rawMembers(text);
  } catch (e) {
    return { ok: false, reason: 'malformed', message: `answer is not JSON: ${(e as RawJsonError).message}` };
  }
  const raw = members.get(alipayResponseKey(method)) ?? members.get('error_response');
  if (raw === undefined) return { ok: false, reason: 'malformed', message: 'answer has no response member' };
  const signRaw = members.get('sign');
  let sign: unknown;
  try {
    sign = signRaw === undefined ? undefined : JSON.parse(signRaw);
  } catch {
    sign = undefined;
  }
  if (typeof sign !== 'string' || !rsa2Verify(raw, sign, alipayPublicKey))
    return { ok: false, reason: 'bad_signature', message: 'the answer signature does not verify' };
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    return { ok: false, reason: 'malformed', message: 'response member is not JSON' };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    return { ok: false, reason: 'malformed', message: 'response member is not an object' };
  return { ok: true, data: data as Record<string, unknown>, raw };
}

/** Checks an asynchronous notification's form parameters (already decoded). */
export function verifyAlipayNotificationParams(
  params: Record<string, string>,
  alipayPublicKey: KeyObject,
): boolean {
  const sign = params['sign'];
  if (!sign) return false;
  return rsa2Verify(alipaySignContent(params, ['sign', 'sign_type']), sign, alipayPublicKey);
}
