/**
 * EMV application cryptograms for the simulators: the reader simulator's card generates ARQC and TC,
 * the host simulator verifies the ARQC and answers with tag 91. Real 3DES on node:crypto; the key
 * derivations, MACs and ARPC methods are the issuer-side ones in `src/crypto` (emv-keys.ts,
 * emv-arpc.ts, emv-cvn.ts), selected by the card's Cryptogram Version Number:
 *
 * - A card profile with a `cvn` (cards.json) computes its cryptograms as that CVN's row of
 *   `CVN_SCHEMES` says (e.g. 01 = UICS/PBOC: option A master key, PBOC session key, ARPC method 1;
 *   12 = Visa CVN 18: option B, EMV common session key, whole 9F10 in the input, ARPC method 2), and
 *   its 9F10 carries that CVN in byte 3. The host takes the CVN from 9F10 and declines when it is not
 *   the one the card was issued with (no downgrade to another scheme).
 * - A card without `cvn` keeps the simulators' original scheme, `LEGACY_SCHEME`: option A master
 *   key, EMV common session key (Book 2 A1.3.1), CDOL1 || CVR, ARPC method 1 (whatever CVN its 9F10
 *   shows). Existing test cards and their recorded expectations rely on it.
 *
 * Cryptogram input, over the CDOL1 data in this order:
 *      9F02 amount (6) | 9F03 other amount (6) | 9F1A terminal country (2) | 95 TVR (5) |
 *      5F2A currency (2) | 9A date (3) | 9C type (1) | 9F37 unpredictable number (4) | 82 AIP (2) |
 *      9F36 ATC (2) | then the CVR (bytes 4-7 of 9F10: CVR length 03 and the 3 CVR bytes; the whole
 *      9F10 when it is shorter than 7 bytes) or, for CVNs that say so, the whole 9F10
 *    and, for the TC of the second GENERATE AC only, 8A (the 2 bytes of the response code).
 * Tag 91: method 1 = ARPC (8) || ARC (2), the ARC being the response code's 2 ASCII characters;
 * method 2 = ARPC (4) || CSU (4), the CSU with byte 2 bit 8 ("issuer approves") set for an approval.
 * An altered 91 (wrong length, other ARC/CSU bytes, any flipped bit) fails verification: false, never a
 * throw. Changing any CDOL1 value or the ARQC itself changes the cryptogram, so a tampered field 55 is
 * detected.
 */
import {
  applicationCryptogram as acMac,
  CryptoError,
  cryptogramIadPart,
  cryptogramSessionKey,
  cvnOfIad,
  cvnScheme,
  deriveIccMasterKeyA,
  emvCommonSessionKey,
  issuerAuthenticationData as issuerData,
  verifyIssuerAuthenticationData,
  type CvnScheme,
} from '../../src/crypto/index.js';
import { encodeTlv, findTlv, tlv, type Tlv } from '../../src/emv/index.js';
import type { Pan } from '../../src/card/index.js';

export type { CvnScheme };

/** Tags of the CDOL1 data, in order, with their lengths (the CVR is taken from 9F10). */
export const CDOL1_TAGS: readonly (readonly [string, number])[] = [
  ['9F02', 6],
  ['9F03', 6],
  ['9F1A', 2],
  ['95', 5],
  ['5F2A', 2],
  ['9A', 3],
  ['9C', 1],
  ['9F37', 4],
  ['82', 2],
  ['9F36', 2],
];

/** The simulators' scheme for cards without a CVN in their profile (see the header). Not a real CVN. */
export const LEGACY_SCHEME: CvnScheme = Object.freeze({
  cvn: 'legacy',
  name: 'posbridge simulator default: EMV common session key, ARPC method 1',
  masterKey: 'A',
  sessionKey: 'emv-common',
  acPadding: 'method-2',
  acIad: 'cvr',
  arpc: 1,
});

/** 9F10 a simulated card sends by default, per CVN (byte 3 is the CVN). */
const DEFAULT_IADS: Readonly<Record<string, string>> = {
  legacy: '07010103A00000010A0100000000000000000000',
  '01': '07010103A00000010A0100000000000000000000',
  '0A': '06010A03A00000',
  '12': '06011203A00000',
};

export class CryptogramError extends Error {
  constructor(
    readonly code: 'missing_tag' | 'bad_length' | 'bad_input' | 'unknown_cvn',
    message: string,
    readonly tag?: string,
  ) {
    super(message);
    this.name = 'CryptogramError';
  }
}

export interface CardKeys {
  imk: Uint8Array;
  pan: Pan | string;
  psn: string | null;
  /** The card profile's CVN (2 hex digits); absent or null: `LEGACY_SCHEME`. */
  cvn?: string | null | undefined;
}

/** The scheme a card computes its cryptograms with. Throws `CryptogramError` for a CVN not in the table. */
export function schemeOf(card: Pick<CardKeys, 'cvn'>): CvnScheme {
  if (card.cvn === undefined || card.cvn === null) return LEGACY_SCHEME;
  const scheme = cvnScheme(card.cvn);
  if (!scheme) throw new CryptogramError('unknown_cvn', `CVN ${card.cvn} is not supported`, '9F10');
  return scheme;
}

/** EMV option A card master key from the issuer master key (kept for callers; see src/crypto). */
export function deriveCardMasterKey(imk: Uint8Array, pan: Pan | string, psn: string | null): Buffer {
  return withCryptogramErrors(() => deriveIccMasterKeyA(imk, pan, psn));
}

/** EMV common session key for an ATC (2 bytes). */
export function deriveSessionKey(cardMasterKey: Uint8Array, atc: Uint8Array): Buffer {
  if (atc.length !== 2) throw new CryptogramError('bad_length', 'the ATC is 2 bytes', '9F36');
  return emvCommonSessionKey(cardMasterKey, atc);
}

/** Maps the crypto layer's typed errors on card data to this module's (bad PAN/PSN -> bad_input). */
function withCryptogramErrors<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof CryptoError && (err.code === 'bad_pan' || err.code === 'bad_data'))
      throw new CryptogramError(
        err.reason === '9F36' ? 'bad_length' : 'bad_input',
        err.message,
        err.reason === '9F36' ? '9F36' : undefined,
      );
    throw err;
  }
}

/** The 4 CVR bytes taken from 9F10 (see the header comment). */
export function cvrOf(iad: Uint8Array): Buffer {
  return cryptogramIadPart({ acIad: 'cvr' }, iad);
}

/**
 * The cryptogram input from field 55 elements (plus 8A for a TC) under `scheme` (default: legacy).
 * Throws `CryptogramError` for a missing tag or a wrong length.
 */
export function cryptogramInput(
  elements: readonly Tlv[],
  options: { arc?: string; scheme?: CvnScheme } = {},
): Buffer {
  const parts: Buffer[] = [];
  for (const [tag, len] of CDOL1_TAGS) {
    const e = findTlv(elements, tag);
    if (!e) throw new CryptogramError('missing_tag', `field 55 has no ${tag}`, tag);
    if (e.value.length !== len)
      throw new CryptogramError('bad_length', `${tag} must be ${len} bytes, got ${e.value.length}`, tag);
    parts.push(e.value);
  }
  const iad = findTlv(elements, '9F10');
  if (!iad) throw new CryptogramError('missing_tag', 'field 55 has no 9F10', '9F10');
  parts.push(cryptogramIadPart(options.scheme ?? LEGACY_SCHEME, iad.value));
  // The card takes 8A as two bytes, whatever they are (a host may send a binary code): never a throw here.
  if (options.arc !== undefined) {
    const arc = Buffer.from(options.arc, 'latin1');
    if (arc.length !== 2 || options.arc.length !== 2)
      throw new CryptogramError('bad_length', 'the ARC (8A) is 2 bytes', '8A');
    parts.push(arc);
  }
  return Buffer.concat(parts);
}

function arcBytes(arc: string): Buffer {
  if (!/^[\x20-\x7e]{2}$/.test(arc))
    throw new CryptogramError('bad_input', 'the ARC is two printable characters');
  return Buffer.from(arc, 'latin1');
}

/** ISO 9797-1 algorithm 3 over method-2-padded data with the session key. */
export function applicationCryptogram(sessionKey: Uint8Array, data: Buffer): Buffer {
  return acMac(sessionKey, data, 'method-2');
}

/** The session key for one transaction (ATC from 9F36) under the card's scheme. */
export function sessionKeyFor(card: CardKeys, atc: Uint8Array): Buffer {
  const scheme = schemeOf(card);
  if (atc.length !== 2) throw new CryptogramError('bad_length', 'the ATC is 2 bytes', '9F36');
  return withCryptogramErrors(() => cryptogramSessionKey(scheme, card.imk, card.pan, card.psn, atc));
}

/** ARQC (or TC with `arc`) for field 55 elements holding the CDOL1 tags, under the card's scheme. */
export function computeCryptogram(
  card: CardKeys,
  elements: readonly Tlv[],
  options: { arc?: string } = {},
): Buffer {
  const scheme = schemeOf(card);
  const atc = findTlv(elements, '9F36');
  if (!atc) throw new CryptogramError('missing_tag', 'field 55 has no 9F36', '9F36');
  return acMac(
    sessionKeyFor(card, atc.value),
    cryptogramInput(elements, { ...options, scheme }),
    scheme.acPadding,
  );
}

export type CryptogramCheck =
  | { ok: true; sessionKey: Buffer; arqc: Buffer; scheme: CvnScheme }
  | {
      ok: false;
      reason: 'missing_tag' | 'bad_length' | 'bad_input' | 'mismatch' | 'unknown_cvn' | 'cvn_mismatch';
      tag?: string;
    };

/**
 * Issuer side: verifies 9F26 of field 55 (an ARQC, or with `arc` a TC). A card issued with a CVN must
 * show that CVN in 9F10 (`cvn_mismatch` otherwise); the scheme comes from the CVN table.
 */
export function verifyCryptogram(
  card: CardKeys,
  elements: readonly Tlv[],
  options: { arc?: string } = {},
): CryptogramCheck {
  const ac = findTlv(elements, '9F26');
  if (!ac) return { ok: false, reason: 'missing_tag', tag: '9F26' };
  if (ac.value.length !== 8) return { ok: false, reason: 'bad_length', tag: '9F26' };
  try {
    const scheme = schemeOf(card);
    if (scheme !== LEGACY_SCHEME) {
      const iad = findTlv(elements, '9F10');
      if (!iad) return { ok: false, reason: 'missing_tag', tag: '9F10' };
      if (cvnOfIad(iad.value) !== scheme.cvn) return { ok: false, reason: 'cvn_mismatch', tag: '9F10' };
    }
    const atc = findTlv(elements, '9F36');
    if (!atc) return { ok: false, reason: 'missing_tag', tag: '9F36' };
    const sk = sessionKeyFor(card, atc.value);
    const expected = acMac(sk, cryptogramInput(elements, { ...options, scheme }), scheme.acPadding);
    // not secret-dependent timing in a simulator, but compare in full anyway
    let diff = 0;
    for (let i = 0; i < 8; i++) diff |= expected[i]! ^ ac.value[i]!;
    return diff === 0
      ? { ok: true, sessionKey: sk, arqc: Buffer.from(ac.value), scheme }
      : { ok: false, reason: 'mismatch' };
  } catch (err) {
    if (err instanceof CryptogramError)
      return { ok: false, reason: err.code, ...(err.tag ? { tag: err.tag } : {}) };
    throw err;
  }
}

/** ARPC method 1: 3DES_SK(ARQC XOR (ARC || 00 × 6)). `arc` is the 2 printable response-code characters. */
export function computeArpc(sessionKey: Uint8Array, arqc: Uint8Array, arc: string): Buffer {
  if (arqc.length !== 8) throw new CryptogramError('bad_length', 'the ARQC is 8 bytes', '9F26');
  return issuerData(sessionKey, arqc, { method: 1, arc: arcBytes(arc) }).subarray(0, 8);
}

/** The value of tag 91 (issuer authentication data, method 1): ARPC || ARC. */
export function issuerAuthenticationData(sessionKey: Uint8Array, arqc: Uint8Array, arc: string): Buffer {
  if (arqc.length !== 8) throw new CryptogramError('bad_length', 'the ARQC is 8 bytes', '9F26');
  return issuerData(sessionKey, arqc, { method: 1, arc: arcBytes(arc) });
}

/** Approval response codes (the CSU's "issuer approves" bit for ARPC method 2). */
const APPROVALS = new Set(['00', '10', '11']);

/** Card Status Update for ARPC method 2: byte 2 bit 8 set when the issuer approves. */
export function cardStatusUpdate(responseCode: string): Buffer {
  return Buffer.from([0x00, APPROVALS.has(responseCode) ? 0x80 : 0x00, 0x00, 0x00]);
}

/** Tag 91 for the response under the card's scheme: method 1 (ARPC || ARC) or 2 (ARPC || CSU). */
export function issuerAuthenticationDataFor(
  scheme: CvnScheme,
  sessionKey: Uint8Array,
  arqc: Uint8Array,
  responseCode: string,
): Buffer {
  if (scheme.arpc === 1) return issuerAuthenticationData(sessionKey, arqc, responseCode);
  if (arqc.length !== 8) throw new CryptogramError('bad_length', 'the ARQC is 8 bytes', '9F26');
  return issuerData(sessionKey, arqc, { method: 2, csu: cardStatusUpdate(responseCode) });
}

/**
 * Card side: does 91 (ARPC method 1, 8 + 2 bytes) authenticate the issuer for this ARQC? The ARC is
 * taken as two binary bytes, as EMV does; an altered 91 (wrong length, any other ARC or ARPC bytes)
 * or an ARQC that is not 8 bytes is `false`, never a throw, so the card sets "issuer authentication
 * failed" instead of the simulator crashing on a bad host response.
 */
export function verifyArpc(sessionKey: Uint8Array, arqc: Uint8Array, iad: Uint8Array): boolean {
  return verifyIssuerAuthenticationData(1, sessionKey, arqc, iad);
}

/** Card side under the card's scheme (ARPC method 1 or 2): false, never a throw, for an altered 91. */
export function verifyIssuerAuthentication(
  scheme: CvnScheme,
  sessionKey: Uint8Array,
  arqc: Uint8Array,
  iad: Uint8Array,
): boolean {
  return verifyIssuerAuthenticationData(scheme.arpc, sessionKey, arqc, iad);
}

export interface ChipRequestInput {
  /** Amount in fen. */
  amount: number | string;
  /** 2 bytes, or a number 0..65535. */
  atc: number;
  /** 4 bytes; random when not given. */
  unpredictableNumber?: Uint8Array;
  /** YYMMDD; today (UTC) when not given. */
  date?: string;
  /** 9C: 00 goods and services, 30 balance inquiry, 03 pre-auth... default 00. */
  transactionType?: string;
  /** TVR, 5 bytes hex (default all zero). */
  tvr?: string;
  /** 9F10 hex (default: the card's CVN's IAD, a UnionPay-style one with CVR 03A00000 for legacy cards). */
  iad?: string;
  currency?: string;
  country?: string;
  /** The other tags token wallets add (9F19, 9F24, 9F25, 9F6E), appended after 9F26..9F03. */
  extra?: readonly Tlv[];
}

/**
 * Field 55 of an online request as a reader would send it (the cup-online-request tag order for the
 * first 13 tags), with a correct ARQC in 9F26. For the reader simulator and the host tests.
 */
/** The 9F10 a simulated card of `scheme` sends (its CVN in byte 3). */
export function defaultIad(scheme: CvnScheme): string {
  const known = DEFAULT_IADS[scheme.cvn];
  if (known) return known;
  const iad = Buffer.from(DEFAULT_IADS['01']!, 'hex');
  iad[2] = parseInt(scheme.cvn, 16);
  return iad.toString('hex').toUpperCase();
}

export function chipRequestData(card: CardKeys, input: ChipRequestInput): Buffer {
  const amount = String(input.amount).padStart(12, '0');
  const date = input.date ?? new Date().toISOString().slice(2, 10).replace(/-/g, '');
  const un =
    input.unpredictableNumber ??
    Buffer.from(Array.from({ length: 4 }, () => Math.floor(Math.random() * 256)));
  const atc = Buffer.alloc(2);
  atc.writeUInt16BE(input.atc & 0xffff);
  const h = (s: string): Buffer => Buffer.from(s, 'hex');
  const base: Tlv[] = [
    tlv('9F27', h('80')),
    tlv('9F10', h(input.iad ?? defaultIad(schemeOf(card)))),
    tlv('9F37', un),
    tlv('9F36', atc),
    tlv('95', h(input.tvr ?? '0000000000')),
    tlv('9A', h(date)),
    tlv('9C', h(input.transactionType ?? '00')),
    tlv('9F02', h(amount)),
    tlv('5F2A', h((input.currency ?? '156').padStart(4, '0'))),
    tlv('82', h('7C00')),
    tlv('9F1A', h((input.country ?? '156').padStart(4, '0'))),
    tlv('9F03', h('000000000000')),
  ];
  const arqc = computeCryptogram(card, base);
  return encodeTlv([tlv('9F26', arqc), ...base, ...(input.extra ?? [])]);
}
