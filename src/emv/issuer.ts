/**
 * The issuer's side of field 55 in a response (0110/0210): 91 Issuer Authentication Data and the
 * issuer script templates 71 (run before the final GENERATE AC) and 72 (after), each with an optional
 * 9F18 script identifier and one or more 86 commands. `readerIssuerData` turns that plus the response
 * code (field 39) into the TLV the reader's second GENERATE AC step needs: 8A, 91, then the scripts.
 */
import type { TlvWarning } from './errors.js';
import { toHex } from './hex.js';
import { fail, ok, type EmvResult } from './result.js';
import { encodeTlv, tlv, tryParseTlv, type Tlv } from './tlv.js';

export interface IssuerAuthenticationData {
  /** The whole 91 value. */
  raw: Buffer;
  /**
   * 1: ARPC (8 bytes) + ARC (2 bytes), the layout UnionPay (PBOC) and Visa CVN 10/18 use: a 10-byte
   *    value whose last two bytes are printable.
   * 2: ARPC (4 bytes) + Card Status Update (4 bytes) + optional proprietary data (EMV CCD): every other
   *    value of 8-16 bytes.
   */
  method: 1 | 2;
  arpc: Buffer;
  /** Method 1: the Authorisation Response Code the ARPC was computed over, as text ("00"). */
  arc?: string;
  /** Method 2: the Card Status Update. */
  csu?: Buffer;
  /** Method 2: proprietary authentication data after the CSU. */
  proprietary?: Buffer;
}

export interface IssuerScript {
  template: '71' | '72';
  /** 9F18, 4 bytes, when the issuer sent one. */
  id?: Buffer;
  /** 9F18 in hex. */
  idHex?: string;
  /** The 86 command APDUs, in order. */
  commands: Buffer[];
  /** Any other element inside the template (not EMV; kept, and passed on with `element`). */
  others: Tlv[];
  /** The template as received (re-encode it to pass the script on byte-exact). */
  element: Tlv;
}

export interface IssuerResponse {
  issuerAuthenticationData?: IssuerAuthenticationData;
  /** Scripts in the order received (71 and 72 may interleave). */
  scripts: IssuerScript[];
  /** 8A, when the host also put the response code into field 55. */
  authorisationResponseCode?: string;
  /** 89, when present. */
  authorisationCode?: string;
  /** Every other element, kept in order. */
  others: Tlv[];
  /** Lenient-parse warnings (non-minimal encodings, opaque vendor containers). */
  warnings: TlvWarning[];
}

export interface IssuerResponseError {
  code: 'tlv_invalid' | 'bad_issuer_auth_data' | 'duplicate_issuer_auth_data' | 'bad_script';
  message: string;
  /** Tag path, e.g. `72/9F18`. */
  path: string;
  /** Offset of the element in field 55. */
  offset: number | undefined;
}

function readIad(t: Tlv): EmvResult<IssuerAuthenticationData, IssuerResponseError> {
  const v = t.value;
  const bad = (message: string) =>
    fail<IssuerResponseError>({ code: 'bad_issuer_auth_data', message, path: '91', offset: t.offset });
  if (v.length < 8 || v.length > 16) return bad(`91 must be 8-16 bytes, got ${v.length}`);
  if (v.length === 10) {
    const arc = v.subarray(8, 10).toString('latin1');
    // 10 bytes with a printable ARC: method 1. Otherwise (e.g. CCD with 2 proprietary bytes): method 2.
    if (/^[\x20-\x7e]{2}$/.test(arc)) return ok({ raw: v, method: 1, arpc: v.subarray(0, 8), arc });
  }
  const iad: IssuerAuthenticationData = { raw: v, method: 2, arpc: v.subarray(0, 4), csu: v.subarray(4, 8) };
  if (v.length > 8) iad.proprietary = v.subarray(8);
  return ok(iad);
}

function readScript(t: Tlv): EmvResult<IssuerScript, IssuerResponseError> {
  const bad = (message: string, path = t.tag) =>
    fail<IssuerResponseError>({ code: 'bad_script', message, path, offset: t.offset });
  if (t.opaque || !t.children) return bad(`${t.tag}: the script template is not valid TLV`);
  const script: IssuerScript = { template: t.tag as '71' | '72', commands: [], others: [], element: t };
  for (const c of t.children) {
    if (c.tag === '9F18') {
      if (script.id) return bad(`${t.tag}: more than one script identifier`, `${t.tag}/9F18`);
      if (c.value.length !== 4)
        return bad(`${t.tag}/9F18 must be 4 bytes, got ${c.value.length}`, `${t.tag}/9F18`);
      script.id = c.value;
      script.idHex = toHex(c.value);
    } else if (c.tag === '86') {
      if (c.value.length < 4) return bad(`${t.tag}/86: a command APDU has at least 4 bytes`, `${t.tag}/86`);
      script.commands.push(c.value);
    } else {
      script.others.push(c);
    }
  }
  if (!script.commands.length) return bad(`${t.tag}: script template without an 86 command`);
  return ok(script);
}

/** Reads field 55 of an authorisation response. Errors are values, never throws. */
export function parseIssuerResponse(field55: Uint8Array): EmvResult<IssuerResponse, IssuerResponseError> {
  const parsed = tryParseTlv(field55);
  if (!parsed.ok) {
    const e = parsed.error;
    return fail({ code: 'tlv_invalid', message: e.message, path: e.path, offset: e.offset });
  }
  const out: IssuerResponse = { scripts: [], others: [], warnings: parsed.warnings };
  for (const t of parsed.elements) {
    if (t.tag === '91') {
      if (out.issuerAuthenticationData)
        return fail({
          code: 'duplicate_issuer_auth_data',
          message: 'more than one 91',
          path: '91',
          offset: t.offset,
        });
      const r = readIad(t);
      if (!r.ok) return r;
      out.issuerAuthenticationData = r.value;
    } else if (t.tag === '71' || t.tag === '72') {
      const r = readScript(t);
      if (!r.ok) return r;
      out.scripts.push(r.value);
    } else if (t.tag === '8A' && t.value.length === 2) {
      out.authorisationResponseCode = t.value.toString('latin1');
      out.others.push(t);
    } else if (t.tag === '89') {
      out.authorisationCode = t.value.toString('latin1');
      out.others.push(t);
    } else {
      out.others.push(t);
    }
  }
  return ok(out);
}

export interface ReaderIssuerDataInput {
  /** Field 39 of the response: two characters ("00", "A0", "05" ...). Goes to the reader as 8A. */
  responseCode: string;
  /** The parsed field 55 of the response, when it had one. */
  issuerResponse?: IssuerResponse;
  /** Field 38 (approval code), passed as 89 when given. */
  authorisationCode?: string;
}

export interface ReaderIssuerDataError {
  code: 'bad_response_code' | 'bad_authorisation_code';
  message: string;
}

/**
 * TLV for the reader's completion step: 8A (response code as 2 ASCII bytes), 89 when given, 91 when
 * the issuer sent it, then the 71/72 scripts byte-exact in received order.
 */
export function readerIssuerData(input: ReaderIssuerDataInput): EmvResult<Buffer, ReaderIssuerDataError> {
  if (typeof input.responseCode !== 'string' || !/^[\x20-\x7e]{2}$/.test(input.responseCode)) {
    return fail({
      code: 'bad_response_code',
      message: 'response code must be two printable ASCII characters',
    });
  }
  const parts: Tlv[] = [tlv('8A', Buffer.from(input.responseCode, 'latin1'))];
  if (input.authorisationCode !== undefined) {
    if (!/^[\x20-\x7e]{1,6}$/.test(input.authorisationCode))
      return fail({
        code: 'bad_authorisation_code',
        message: 'authorisation code must be 1-6 printable ASCII characters',
      });
    parts.push(tlv('89', Buffer.from(input.authorisationCode.padEnd(6, ' '), 'latin1')));
  }
  const ir = input.issuerResponse;
  if (ir?.issuerAuthenticationData) parts.push(tlv('91', ir.issuerAuthenticationData.raw));
  for (const s of ir?.scripts ?? []) parts.push(s.element);
  return ok(encodeTlv(parts));
}
