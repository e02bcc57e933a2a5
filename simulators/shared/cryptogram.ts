/**
 * EMV application cryptograms for the simulators: the reader simulator generates ARQC and TC, the host
 * simulator verifies the ARQC and answers with an ARPC. Real 3DES on node:crypto (through
 * `src/crypto`'s `DesKey`); it only has to agree with itself and be tamper-evident, but each step is a
 * standard EMV one.
 *
 * 1. Card (ICC) master key, EMV Book 2 A1.4.1 option A:
 *      Y  = the rightmost 16 digits of PAN || PSN (PSN "00" when the card has none), left-padded with
 *           "0" to 16 digits, packed as 8 BCD bytes;
 *      MK = 3DES_IMK(Y) || 3DES_IMK(Y XOR FF..FF), each byte set to odd parity.
 *    (IMK = the issuer master key for application cryptograms, cards.json `imk`, two-key 3DES.)
 * 2. Session key, EMV common session key derivation (Book 2 A1.3.1):
 *      SK = 3DES_MK(ATC || F0 || 00 00 00 00 00) || 3DES_MK(ATC || 0F || 00 00 00 00 00)
 *    (ATC = 9F36, 2 bytes.)
 * 3. Cryptogram (ARQC, and TC / AAC the same way), over the CDOL1 data in this order:
 *      9F02 amount (6) | 9F03 other amount (6) | 9F1A terminal country (2) | 95 TVR (5) |
 *      5F2A currency (2) | 9A date (3) | 9C type (1) | 9F37 unpredictable number (4) | 82 AIP (2) |
 *      9F36 ATC (2) | CVR (4 bytes: bytes 4-7 of 9F10, i.e. the CVR length byte 03 and the 3 CVR bytes,
 *      as in UnionPay PBOC and Visa CVN 10/17 issuer application data "07 DKI CVN 03 xx xx xx ..."; the
 *      whole 9F10 when it is shorter than 7 bytes)
 *    and, for the TC of the second GENERATE AC only, 8A (the 2 ASCII characters of the response code).
 *    The data is padded with ISO/IEC 9797-1 method 2 (80 then zeros to a multiple of 8) and MACed with
 *    ISO/IEC 9797-1 MAC algorithm 3 (the X9.19 retail MAC: single-DES CBC with SK's left half, final
 *    block 3DES with SK): 8 bytes.
 * 4. ARPC, method 1 (Book 2 A1.3.1): ARPC = 3DES_SK(ARQC XOR (ARC || 00 × 6)). The ARC is two binary
 *    bytes; the host simulator sends the 2 ASCII characters of its response code ("00" = 30 30), but
 *    the card side takes whatever 2 bytes tag 91 carries. Field 55 of the response carries
 *    91 = ARPC (8) || ARC (2). An altered 91 (wrong length, other ARC bytes, any flipped bit) fails
 *    `verifyArpc` (false, never a throw).
 *
 * Changing any of the CDOL1 values (amount, date, unpredictable number, ATC, TVR, ...) or the ARQC
 * itself changes the recomputed cryptogram, so a tampered field 55 is detected.
 */
import { DesKey, withOddParity, x919Mac } from '../../src/crypto/index.js';
import { encodeTlv, findTlv, tlv, type Tlv } from '../../src/emv/index.js';
import type { Pan } from '../../src/card/index.js';

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

export class CryptogramError extends Error {
  constructor(
    readonly code: 'missing_tag' | 'bad_length' | 'bad_input',
    message: string,
    readonly tag?: string,
  ) {
    super(message);
    this.name = 'CryptogramError';
  }
}

function panDigits(pan: Pan | string): string {
  return typeof pan === 'string' ? pan : pan.reveal();
}

/** EMV option A card master key from the issuer master key. */
export function deriveCardMasterKey(imk: Uint8Array, pan: Pan | string, psn: string | null): Buffer {
  const digits = panDigits(pan) + (psn ?? '00');
  if (!/^[0-9]+$/.test(digits)) throw new CryptogramError('bad_input', 'PAN and PSN must be digits');
  const y = Buffer.from(digits.slice(-16).padStart(16, '0'), 'hex');
  const imkKey = DesKey.from(imk, 'key');
  const left = imkKey.encryptEcb(y);
  const inverted = Buffer.from(y.map((b) => b ^ 0xff));
  const right = imkKey.encryptEcb(inverted);
  return withOddParity(Buffer.concat([left, right]));
}

/** EMV common session key for an ATC (2 bytes). */
export function deriveSessionKey(cardMasterKey: Uint8Array, atc: Uint8Array): Buffer {
  if (atc.length !== 2) throw new CryptogramError('bad_length', 'the ATC is 2 bytes', '9F36');
  const mk = DesKey.from(cardMasterKey, 'key');
  const l = Buffer.alloc(8);
  const r = Buffer.alloc(8);
  l.set(atc, 0);
  r.set(atc, 0);
  l[2] = 0xf0;
  r[2] = 0x0f;
  return withOddParity(Buffer.concat([mk.encryptEcb(l), mk.encryptEcb(r)]));
}

/** The 4 CVR bytes taken from 9F10 (see the header comment). */
export function cvrOf(iad: Uint8Array): Buffer {
  const b = Buffer.from(iad);
  return b.length >= 7 ? b.subarray(3, 7) : b;
}

/** The CDOL1 data from field 55 elements (plus 8A for a TC). Throws `CryptogramError` for a missing tag. */
export function cryptogramInput(elements: readonly Tlv[], options: { arc?: string } = {}): Buffer {
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
  parts.push(cvrOf(iad.value));
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

function padMethod2(data: Buffer): Buffer {
  const len = (Math.floor(data.length / 8) + 1) * 8;
  const out = Buffer.alloc(len);
  data.copy(out);
  out[data.length] = 0x80;
  return out;
}

/** ISO 9797-1 algorithm 3 over method-2-padded data with the session key. */
export function applicationCryptogram(sessionKey: Uint8Array, data: Buffer): Buffer {
  return x919Mac(sessionKey, padMethod2(data));
}

export interface CardKeys {
  imk: Uint8Array;
  pan: Pan | string;
  psn: string | null;
}

/** The session key for one transaction (ATC from 9F36). */
export function sessionKeyFor(card: CardKeys, atc: Uint8Array): Buffer {
  return deriveSessionKey(deriveCardMasterKey(card.imk, card.pan, card.psn), atc);
}

/** ARQC (or TC with `arc`) for field 55 elements holding the CDOL1 tags. */
export function computeCryptogram(
  card: CardKeys,
  elements: readonly Tlv[],
  options: { arc?: string } = {},
): Buffer {
  const atc = findTlv(elements, '9F36');
  if (!atc) throw new CryptogramError('missing_tag', 'field 55 has no 9F36', '9F36');
  return applicationCryptogram(sessionKeyFor(card, atc.value), cryptogramInput(elements, options));
}

export type CryptogramCheck =
  | { ok: true; sessionKey: Buffer; arqc: Buffer }
  | { ok: false; reason: 'missing_tag' | 'bad_length' | 'bad_input' | 'mismatch'; tag?: string };

/** Verifies 9F26 of field 55 (an ARQC, or with `arc` a TC). */
export function verifyCryptogram(
  card: CardKeys,
  elements: readonly Tlv[],
  options: { arc?: string } = {},
): CryptogramCheck {
  const ac = findTlv(elements, '9F26');
  if (!ac) return { ok: false, reason: 'missing_tag', tag: '9F26' };
  if (ac.value.length !== 8) return { ok: false, reason: 'bad_length', tag: '9F26' };
  try {
    const atc = findTlv(elements, '9F36');
    if (!atc) return { ok: false, reason: 'missing_tag', tag: '9F36' };
    const sk = sessionKeyFor(card, atc.value);
    const expected = applicationCryptogram(sk, cryptogramInput(elements, options));
    // not secret-dependent timing in a simulator, but compare in full anyway
    let diff = 0;
    for (let i = 0; i < 8; i++) diff |= expected[i]! ^ ac.value[i]!;
    return diff === 0
      ? { ok: true, sessionKey: sk, arqc: Buffer.from(ac.value) }
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
  return arpcMethod1(sessionKey, arqc, arcBytes(arc));
}

/** ARPC method 1 over a binary ARC (2 bytes); `arqc` is 8 bytes (checked by the callers). */
function arpcMethod1(sessionKey: Uint8Array, arqc: Uint8Array, arc: Uint8Array): Buffer {
  const y = Buffer.from(arqc);
  y[0] = y[0]! ^ arc[0]!;
  y[1] = y[1]! ^ arc[1]!;
  return DesKey.from(sessionKey, 'key').encryptEcb(y);
}

/** The value of tag 91 (issuer authentication data, method 1): ARPC || ARC. */
export function issuerAuthenticationData(sessionKey: Uint8Array, arqc: Uint8Array, arc: string): Buffer {
  return Buffer.concat([computeArpc(sessionKey, arqc, arc), arcBytes(arc)]);
}

/**
 * Card side: does 91 (ARPC method 1, 8 + 2 bytes) authenticate the issuer for this ARQC? The ARC is
 * taken as two binary bytes, as EMV does; an altered 91 (wrong length, any other ARC or ARPC bytes)
 * or an ARQC that is not 8 bytes is `false`, never a throw, so the card sets "issuer authentication
 * failed" instead of the simulator crashing on a bad host response.
 */
export function verifyArpc(sessionKey: Uint8Array, arqc: Uint8Array, iad: Uint8Array): boolean {
  if (iad.length !== 10 || arqc.length !== 8) return false;
  const expected = arpcMethod1(sessionKey, arqc, iad.subarray(8, 10));
  let diff = 0;
  for (let i = 0; i < 8; i++) diff |= expected[i]! ^ iad[i]!;
  return diff === 0;
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
  /** 9F10 hex (default a UnionPay-style IAD with CVR 03A00000). */
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
    tlv('9F10', h(input.iad ?? '07010103A00000010A0100000000000000000000')),
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
