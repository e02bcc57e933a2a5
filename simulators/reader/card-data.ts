/**
 * What the simulated card gives the reader: the card read (PAN, encrypted track 2, PIN block under the
 * PIK, field 55 with the UnionPay request tag set and an ARQC from the card's issuer key) and, at
 * completion, the second GENERATE AC (ARPC check, TC or AAC, issuer script results). Cryptograms
 * come from simulators/shared/cryptogram.ts so the host simulator verifies them; the card's profile
 * `cvn` picks the key derivation and ARPC method (none: the simulators' default scheme).
 */
import { SensitiveBytes } from '../../src/card/index.js';
import {
  encryptSchemePinBlock,
  encryptTrackData,
  type DesKey,
  type DukptPinPad,
  type KeyScheme,
  type SchemeKey,
} from '../../src/crypto/index.js';
import {
  encodeScriptResults,
  encodeTlv,
  findTlv,
  parseIssuerResponse,
  parseTlv,
  tlv,
  type ScriptResult,
  type Tlv,
} from '../../src/emv/index.js';
import type { CardInterface, TransactionType } from '../../src/terminal/index.js';
import {
  chipRequestData,
  computeCryptogram,
  schemeOf,
  sessionKeyFor,
  verifyIssuerAuthentication,
  type CardKeys,
} from '../shared/cryptogram.js';
import type { TestCard } from '../shared/cards.js';
import type { Presentation } from './behaviour.js';

export interface WorkingKeysHeld {
  /** The cipher of the master key the keys came under: DES/3DES or SM4 (PIN block and MAC follow it). */
  scheme: KeyScheme;
  pik: SchemeKey;
  mak: SchemeKey;
  tdk: SchemeKey | undefined;
}

export interface ReadRequest {
  amount: bigint;
  currency: string;
  type: TransactionType;
  interfaces: readonly CardInterface[];
  pinAllowed: boolean;
}

/** The card read, ready for the CARD_RESULT payload, plus what the completion needs. */
export interface CardRead {
  card: TestCard;
  interface: CardInterface;
  fallback: boolean;
  entryMode: string;
  pinEntered: boolean;
  /** Clear-text values go out only as the encrypted / reader-held forms below. */
  /** Absent for a keyed entry (no stripe read). */
  trackTwo: SensitiveBytes | undefined;
  pinBlock: SensitiveBytes | undefined;
  /** A DUKPT reader's KSN for this PIN block (not secret). */
  ksn?: Buffer;
  iccData: Buffer | undefined;
  /** Field 55 elements of the first GENERATE AC (for the TC). */
  iccElements: Tlv[] | undefined;
  cardSequenceNumber: string | undefined;
  expiry: string;
  /** Contact chip: a second GENERATE AC follows the host's answer. */
  secondGenerateAc: boolean;
}

/** The AID the simulated card is selected by (its RID is the first 5 bytes). */
export function aidOf(card: TestCard): string {
  return AIDS[card.scheme] ?? 'A0000003330101';
}

const AIDS: Record<string, string> = {
  unionpay: 'A000000333010101',
  visa: 'A0000000031010',
  mastercard: 'A0000000041010',
};
const APP_VERSIONS: Record<string, string> = { unionpay: '0030', visa: '008C', mastercard: '0002' };

/** 9C for the transaction type (UnionPay usage: 31 balance inquiry, 03 pre-authorisation, 20 refund). */
const TYPE_9C: Record<TransactionType, string> = {
  sale: '00',
  balance: '31',
  preauth: '03',
  refund: '20',
  void: '00',
  capture: '00',
};

/** UnionPay QuickPass: online PIN above the contactless CVM limit (1,000.00 yuan). */
const CUP_CONTACTLESS_CVM_LIMIT = 100_000n;

/** Which way the card is read, or undefined when the card cannot be read the way asked or allowed. */
export function choosePresentation(
  card: TestCard,
  wanted: Presentation,
  allowed: readonly CardInterface[],
): { iface: CardInterface; fallback: boolean } | undefined {
  const can = (i: CardInterface): boolean => allowed.includes(i) && card.entryModes.includes(i);
  switch (wanted) {
    case 'auto':
      for (const i of ['chip', 'contactless', 'magstripe'] as const)
        if (can(i)) return { iface: i, fallback: false };
      return undefined;
    case 'fallback':
      // The chip does not answer; the stripe of a chip card is read instead.
      return card.entryModes.includes('chip') && allowed.includes('magstripe')
        ? { iface: 'magstripe', fallback: true }
        : undefined;
    default:
      return can(wanted) ? { iface: wanted, fallback: false } : undefined;
  }
}

export interface ReadInput {
  card: TestCard;
  iface: CardInterface;
  fallback: boolean;
  request: ReadRequest;
  keys: WorkingKeysHeld;
  atc: number;
  transactionCounter: number;
  wrongPin: boolean;
  terminalSerial: string;
  /** A DUKPT reader encrypts under the transaction's key instead of the session PIK. */
  pinPad?: DukptPinPad;
  /** TVR (hex) after offline data authentication (default all zero: none run). */
  tvr?: string;
  /** 9F37 the DDA signature covered: the ARQC covers the same one (default random). */
  unpredictableNumber?: Buffer;
}

/** Whether the cardholder is asked for an online PIN. */
export function wantsPin(card: TestCard, iface: CardInterface, request: ReadRequest): boolean {
  if (!card.pin || !request.pinAllowed) return false;
  if (iface === 'contactless')
    return card.scheme === 'unionpay' && request.amount > CUP_CONTACTLESS_CVM_LIMIT;
  return true;
}

export function readCard(input: ReadInput): CardRead {
  const { card, iface, fallback, request, keys } = input;
  const pinEntered = wantsPin(card, iface, request);
  const pinDigit = pinEntered ? '1' : '2';
  const entryMode =
    (fallback
      ? '80'
      : iface === 'chip'
        ? '05'
        : iface === 'contactless'
          ? '07'
          : iface === 'magstripe'
            ? '02'
            : '01') + pinDigit;

  // Track 2: PAN D YYMM service-code discretionary (CVV and PVV stand-ins). None for a keyed entry.
  let trackTwo: SensitiveBytes | undefined;
  if (iface !== 'keyed') {
    const pan = card.pan.reveal();
    const clearTrack = SensitiveBytes.fromText(
      `${pan}D${card.expiry}${card.serviceCode}00000${pan.slice(-3)}`,
      'track2',
    );
    // No public SM4 form of the UnionPay track encryption was found (track.ts is 3DES): under SM4 keys
    // the track is left out, never sent clear; fields 2 and 14 carry the card.
    trackTwo =
      keys.scheme === 'sm4'
        ? undefined
        : keys.tdk
          ? encryptTrackData(keys.tdk as DesKey, clearTrack)
          : clearTrack;
    // Without a TDK the clear track is what is sent: wipe only the copy that is not.
    if (trackTwo !== clearTrack) clearTrack.wipe();
  }

  let pinBlock: SensitiveBytes | undefined;
  let ksn: Buffer | undefined;
  if (pinEntered && card.pin) {
    const pin = input.wrongPin ? wrongPinFor(card.pin) : card.pin;
    if (input.pinPad) ({ ksn, pinBlock } = input.pinPad.encryptPin(pin, card.pan));
    else pinBlock = encryptSchemePinBlock(keys.scheme, pin, card.pan, keys.pik);
  }

  let iccData: Buffer | undefined;
  let iccElements: Tlv[] | undefined;
  const chip = (iface === 'chip' || iface === 'contactless') && !fallback && card.imk;
  if (chip && card.imk) {
    const h = (s: string): Buffer => Buffer.from(s, 'hex');
    // 9F34: 42 enciphered PIN online, 1F no CVM required, 1E signature.
    const cvm = pinEntered ? '420300' : iface === 'contactless' ? '1F0302' : '1E0300';
    const extra: Tlv[] = [
      tlv('9F33', h('E0E1C8')),
      tlv('9F34', h(cvm)),
      tlv('9F35', h('22')),
      tlv('9F1E', Buffer.from(input.terminalSerial.slice(-8).padStart(8, '0'), 'latin1')),
      tlv('84', h(AIDS[card.scheme] ?? 'A0000003330101')),
      tlv('9F09', h(APP_VERSIONS[card.scheme] ?? '0030')),
      tlv('9F41', h(String(input.transactionCounter % 100_000_000).padStart(8, '0'))),
    ];
    if (card.token) {
      if (card.scheme === 'visa') extra.push(tlv('9F6E', h('23800000'))); // FFI v1, consumer mobile phone, passcode capable
      extra.push(tlv('9F19', h(`0${card.token.tokenRequestorId}`)));
      extra.push(tlv('9F24', Buffer.from(card.token.par, 'latin1')));
      extra.push(tlv('9F25', h(card.token.fundingPanLast4)));
    }
    iccData = chipRequestData(cardKeysOf(card, card.imk), {
      amount: request.amount.toString(),
      atc: input.atc,
      transactionType: TYPE_9C[request.type],
      currency: request.currency,
      country: '156',
      extra,
      ...(input.tvr ? { tvr: input.tvr } : {}),
      ...(input.unpredictableNumber ? { unpredictableNumber: input.unpredictableNumber } : {}),
    });
    iccElements = parseTlv(iccData, { copy: true }).elements;
  }

  return {
    card,
    interface: iface,
    fallback,
    entryMode,
    pinEntered,
    trackTwo,
    pinBlock,
    ...(ksn ? { ksn } : {}),
    iccData,
    iccElements,
    cardSequenceNumber:
      card.psn && (iface === 'chip' || iface === 'contactless') && !fallback ? `0${card.psn}` : undefined,
    expiry: card.expiry,
    secondGenerateAc: iface === 'chip' && !fallback && iccData !== undefined,
  };
}

/** The cryptogram keys of a chip card, with the CVN its profile gives. */
function cardKeysOf(card: TestCard, imk: Buffer): CardKeys {
  return { imk, pan: card.pan, psn: card.psn, cvn: card.cvn };
}

function wrongPinFor(pin: string): string {
  const last = Number(pin[pin.length - 1]);
  return pin.slice(0, -1) + String((last + 1) % 10);
}

export interface CompletionInput {
  read: CardRead;
  approved: boolean;
  unableToGoOnline: boolean;
  /** 8A, 89, 91, 71/72 as the driver sent them. */
  issuerData: Buffer | undefined;
  chipDeclines: boolean;
}

export interface Completion {
  cryptogram: 'tc' | 'aac' | 'none';
  iccData: Buffer | undefined;
  /** 5 bytes per script (DF31 / 9F5B value). */
  scriptResults: Buffer | undefined;
  /** Whether 91 was present and the ARPC matched. */
  issuerAuthenticated: boolean | undefined;
}

/** The card's answer to the host's: second GENERATE AC for a contact chip, nothing for the others. */
export function completeCard(input: CompletionInput): Completion {
  const { read } = input;
  const parsed =
    input.issuerData && input.issuerData.length ? parseIssuerResponse(input.issuerData) : undefined;
  const issuer = parsed?.ok ? parsed.value : undefined;
  const responseCode = issuer?.authorisationResponseCode ?? (input.approved ? '00' : '05');
  if (!read.secondGenerateAc || !read.iccElements || !read.card.imk) {
    return {
      cryptogram: 'none',
      iccData: undefined,
      scriptResults: undefined,
      issuerAuthenticated: undefined,
    };
  }
  const els = read.iccElements;
  const keys = cardKeysOf(read.card, read.card.imk);
  const atc = findTlv(els, '9F36')!.value;
  const arqc = findTlv(els, '9F26')!.value;
  let issuerAuthenticated: boolean | undefined;
  const iad = issuer?.issuerAuthenticationData;
  // The card knows its own ARPC method (its CVN): the parser's method-1/2 guess is not used.
  if (iad)
    issuerAuthenticated = verifyIssuerAuthentication(schemeOf(keys), sessionKeyFor(keys, atc), arqc, iad.raw);

  const approve =
    input.approved && !input.unableToGoOnline && issuerAuthenticated !== false && !input.chipDeclines;
  // TVR byte 5 bit 7: issuer authentication failed. TSI: ODA, CVM, card risk management, issuer authentication.
  const tvr = Buffer.from(findTlv(els, '95')!.value);
  if (issuerAuthenticated === false) tvr[4] = tvr[4]! | 0x40;
  const tsi = Buffer.from([0xe8 | (iad ? 0x10 : 0), 0x00]);

  const replaced = els.map((e) =>
    e.tag === '95'
      ? tlv('95', tvr)
      : e.tag === '9F27'
        ? tlv('9F27', Buffer.from([approve ? 0x40 : 0x00]))
        : e,
  );
  const withoutAc = replaced.filter((e) => e.tag !== '9F26');
  const ac = computeCryptogram(keys, withoutAc, { arc: responseCode });
  const iccData = encodeTlv([
    tlv('9F26', ac),
    ...withoutAc,
    tlv('9B', tsi),
    tlv('8A', Buffer.from(responseCode, 'latin1')),
  ]);

  let scriptResults: Buffer | undefined;
  if (issuer?.scripts.length) {
    const results: ScriptResult[] = issuer.scripts.map((s) => ({
      outcome: 'succeeded',
      ...(s.id ? { scriptId: s.id } : {}),
    }));
    const enc = encodeScriptResults(results);
    if (enc.ok) scriptResults = enc.value;
  }
  return { cryptogram: approve ? 'tc' : 'aac', iccData, scriptResults, issuerAuthenticated };
}
