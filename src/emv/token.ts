/**
 * Token awareness: was this a physical card (and how was it read), or a device token (a wallet on a
 * phone or watch presenting a token PAN)? What may be shown, and what links the customer?
 *
 * - The physical read comes from the entry mode (ISO 8583 field 22, first two digits): 01 keyed,
 *   02 or 90 magnetic stripe, 05 or 95 chip, 07, 91 or 98 contactless, 80 fallback to magnetic stripe.
 * - A contactless read is a device token when the card data says so: 9F19 Token Requestor ID present,
 *   9F25 (last four of the funding PAN behind a token) present, or 9F6E naming a phone, tablet or watch
 *   (Visa Form Factor Indicator, Mastercard Third Party Data device type; not for Amex, where 9F6E is a
 *   terminal setting). `tokenEvidence` lists which.
 * - `panDisplay` is always the masked PAN the reader returned; for a device token that PAN is the token
 *   (device account number), so its last four are `deviceAccountLast4`, and `fundingLast4` (9F25) are
 *   the card's.
 * - 9F24 PAR is reported for tokens and cards alike: it, not the PAN, is the customer link.
 */
import { Pan, schemeOfBin, type CardScheme } from '../card/index.js';
import { schemeOfAid } from './aid.js';
import { explainFormFactor } from './explain-form-factor.js';
import { bcdDigits, toHex } from './hex.js';
import { fail, ok, type EmvResult } from './result.js';
import { findTlv, tryParseTlv, type Tlv } from './tlv.js';

export type PhysicalEntry = 'chip' | 'contactless' | 'magstripe' | 'fallback' | 'keyed';
export type PresentationKind = PhysicalEntry | 'device_token';
export type TokenEvidence = 'token_requestor_id' | 'funding_pan_last4' | 'device_form_factor';

const ENTRY_MODES: Readonly<Record<string, PhysicalEntry>> = {
  '01': 'keyed',
  '02': 'magstripe',
  '90': 'magstripe', // full track read, CVV checkable
  '05': 'chip',
  '95': 'chip', // chip, CVV may not be checkable
  '07': 'contactless',
  '91': 'contactless', // contactless magnetic-stripe mode
  '98': 'contactless', // UnionPay: standard PBOC contactless
  '80': 'fallback',
};

/** The physical read for a field 22 value (its first two digits), or undefined for codes not listed. */
export function entryModeKind(entryMode: string): PhysicalEntry | undefined {
  return typeof entryMode === 'string' ? ENTRY_MODES[entryMode.slice(0, 2)] : undefined;
}

export interface PresentationFacts {
  kind: PresentationKind;
  /** How the data was read (a device token is read contactless). */
  entry: PhysicalEntry;
  scheme: CardScheme;
  /** The masked PAN as read (for a device token: the masked token, i.e. device account number). */
  panDisplay: string;
  /** Device tokens: last four of the token PAN. */
  deviceAccountLast4?: string;
  /** 9F25: last four of the funding PAN behind the token. */
  fundingLast4?: string;
  /** 9F24 Payment Account Reference: the customer link the journal may keep. */
  par?: string;
  /** 9F19, 11 digits. */
  tokenRequestorId?: string;
  /** The device type named by 9F6E, when it names one. */
  formFactor?: string;
  /** Why the presentation counts as a device token (empty for cards). */
  tokenEvidence: TokenEvidence[];
}

export interface PresentationInput {
  /** ISO 8583 field 22 (POS entry mode), e.g. "071"; only the first two digits are read. */
  entryMode: string;
  /** The reader's TLV (parsed, or bytes to parse leniently). */
  tlv?: readonly Tlv[] | Uint8Array;
  /** The PAN as the reader returned it (field 2). Without it, 5A, 57 or 9F6B in the TLV is used. */
  pan?: Pan;
}

export interface PresentationError {
  code: 'unknown_entry_mode' | 'no_pan' | 'tlv_invalid';
  message: string;
}

function panFromTlv(elements: readonly Tlv[]): Pan | undefined {
  const a = findTlv(elements, '5A');
  let digits = a ? bcdDigits(a.value) : undefined;
  if (!digits) {
    const track = findTlv(elements, '57') ?? findTlv(elements, '9F6B');
    if (track) {
      const m = /^([0-9]{1,19})D/.exec(toHex(track.value));
      digits = m?.[1];
    }
  }
  return digits && digits.length >= 1 && digits.length <= 19 ? Pan.fromDigits(digits) : undefined;
}

function schemeFrom(elements: readonly Tlv[], pan: Pan): CardScheme {
  for (const tag of ['4F', '84', '9F06']) {
    const aid = findTlv(elements, tag);
    const scheme = aid ? schemeOfAid(aid.value) : undefined;
    if (scheme) return scheme;
  }
  return schemeOfBin(pan);
}

/** Classifies a presentation. Errors are values (unknown entry mode, no PAN anywhere, unreadable TLV). */
export function classifyPresentation(
  input: PresentationInput,
): EmvResult<PresentationFacts, PresentationError> {
  const entry = entryModeKind(input.entryMode);
  if (!entry) {
    return fail({
      code: 'unknown_entry_mode',
      message: 'entry mode (field 22) is not one of 01, 02, 05, 07, 80, 90, 91, 95, 98',
    });
  }
  let elements: readonly Tlv[] = [];
  if (input.tlv instanceof Uint8Array) {
    const parsed = tryParseTlv(input.tlv);
    if (!parsed.ok) return fail({ code: 'tlv_invalid', message: parsed.error.message });
    elements = parsed.elements;
  } else if (input.tlv) {
    elements = input.tlv;
  }
  const pan = input.pan ?? panFromTlv(elements);
  if (!pan) return fail({ code: 'no_pan', message: 'no PAN given and none in 5A, 57 or 9F6B' });
  const scheme = schemeFrom(elements, pan);

  const facts: PresentationFacts = { kind: entry, entry, scheme, panDisplay: pan.masked, tokenEvidence: [] };

  const par = findTlv(elements, '9F24');
  if (par) {
    const text = par.value.toString('latin1').replace(/[\0 ]+$/, '');
    if (/^[0-9A-Za-z]+$/.test(text)) facts.par = text;
  }
  const trid = findTlv(elements, '9F19');
  if (trid) {
    const d = bcdDigits(trid.value);
    if (d) facts.tokenRequestorId = d.length === 12 && d.startsWith('0') ? d.slice(1) : d;
  }
  const last4 = findTlv(elements, '9F25');
  if (last4) {
    const d = bcdDigits(last4.value);
    if (d && d.length === 4) facts.fundingLast4 = d;
  }
  const ffi = findTlv(elements, '9F6E');
  let deviceFormFactor = false;
  if (ffi) {
    const ex = explainFormFactor(ffi.value, scheme === 'unknown' ? undefined : scheme);
    if (ex.details.deviceType) facts.formFactor = ex.details.deviceType.name;
    deviceFormFactor = ex.valid && ex.details.consumerDevice;
  }

  if (entry === 'contactless') {
    if (trid) facts.tokenEvidence.push('token_requestor_id');
    if (last4) facts.tokenEvidence.push('funding_pan_last4');
    if (deviceFormFactor) facts.tokenEvidence.push('device_form_factor');
    if (facts.tokenEvidence.length) {
      facts.kind = 'device_token';
      if (pan.lastFour) facts.deviceAccountLast4 = pan.lastFour;
    }
  }
  return ok(facts);
}
