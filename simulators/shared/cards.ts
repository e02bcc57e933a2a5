/**
 * The test card table (`simulators/cards.json`) both simulators use, loaded and validated. Every
 * problem is reported at once, each with its JSON path (`$.cards[3].pan`), as a `CardTableError`.
 *
 * Card data here is test data, but the simulators still treat PANs as card data: the loader keeps the
 * PAN in a `Pan` (masked in every text form) and the rest of the simulator code logs only masked PANs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { luhnValid, Pan, type CardScheme } from '../../src/card/index.js';
import { cvnScheme } from '../../src/crypto/index.js';

export type EntryMode = 'chip' | 'contactless' | 'magstripe' | 'keyed';
export const ENTRY_MODES: readonly EntryMode[] = ['chip', 'contactless', 'magstripe', 'keyed'];

export interface DeviceToken {
  wallet: string;
  /** Payment Account Reference (29 characters). */
  par: string;
  /** 11 digits (EMV 9F19). */
  tokenRequestorId: string;
  /** The physical card the token stands for. */
  fundingCardId: string;
  /** Last four of the funding PAN (EMV 9F25). */
  fundingPanLast4: string;
}

export interface TestCard {
  id: string;
  label: string;
  pan: Pan;
  /** PAN sequence number (2 digits) or null for cards without one (magstripe). */
  psn: string | null;
  /** YYMM. */
  expiry: string;
  scheme: Extract<CardScheme, 'unionpay' | 'visa' | 'mastercard' | 'amex' | 'jcb' | 'discover' | 'diners'>;
  /** Domestic for settlement totals (UnionPay) or foreign. */
  domestic: boolean;
  serviceCode: string;
  /** Opening balance in fen of the card's own account (undefined for cards that use another's). */
  balance: number | undefined;
  /** Account id whose balance this card moves: its own id, or `account` (device tokens). */
  account: string;
  /** Online PIN digits, or null. */
  pin: string | null;
  /** Issuer master key for application cryptograms (16 bytes), or null (no chip). */
  imk: Buffer | null;
  /** Cryptogram Version Number (2 hex digits, a row of src/crypto CVN_SCHEMES), or null: simulator default. */
  cvn: string | null;
  entryModes: EntryMode[];
  /** Approvals carry an issuer script (72) in field 55. */
  issuerScript: boolean;
  token: DeviceToken | undefined;
}

export type AmountOutcome =
  | { suffix: string; outcome: 'decline'; responseCode: string; meaning: string }
  | { suffix: string; outcome: 'partial'; responseCode: string; meaning: string };

export interface CardTable {
  currency: string;
  cards: TestCard[];
  amountOutcomes: AmountOutcome[];
  /** Looks a card up by its clear PAN digits. */
  byPan(digits: string): TestCard | undefined;
  byId(id: string): TestCard | undefined;
  /** The outcome the last two digits of an amount (fen, n12 string or number) select, if any. */
  outcomeFor(amount: string | number): AmountOutcome | undefined;
}

export interface CardTableProblem {
  path: string;
  message: string;
}

export class CardTableError extends Error {
  readonly problems: CardTableProblem[];
  constructor(source: string, problems: CardTableProblem[]) {
    super(
      `${source}: ${problems.length} problem(s): ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
    );
    this.name = 'CardTableError';
    this.problems = problems;
  }
}

const SCHEMES = ['unionpay', 'visa', 'mastercard', 'amex', 'jcb', 'discover', 'diners'] as const;

/** `simulators/cards.json`, found by walking up from this module (works from `dist/` too). */
export function defaultCardsPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'simulators', 'cards.json');
    if (existsSync(candidate)) return candidate;
    const sibling = join(dir, 'cards.json');
    if (existsSync(sibling) && dir.endsWith('simulators')) return sibling;
    dir = dirname(dir);
  }
  throw new Error('simulators/cards.json not found next to the posbridge installation');
}

const cache = new Map<string, CardTable>();

/** Loads (and caches) the card table; throws `CardTableError` listing every problem. */
export function loadCards(path: string = defaultCardsPath()): CardTable {
  const hit = cache.get(path);
  if (hit) return hit;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new CardTableError(path, [{ path: '$', message: `not readable JSON: ${(err as Error).message}` }]);
  }
  const table = parseCards(raw, path);
  cache.set(path, table);
  return table;
}

/** Validates an already parsed card table. */
export function parseCards(raw: unknown, source = 'cards'): CardTable {
  const problems: CardTableProblem[] = [];
  const bad = (path: string, message: string): void => void problems.push({ path, message });
  const isObj = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObj(raw)) throw new CardTableError(source, [{ path: '$', message: 'must be an object' }]);

  const str = (
    o: Record<string, unknown>,
    key: string,
    path: string,
    re?: RegExp,
    what?: string,
  ): string | undefined => {
    const v = o[key];
    if (typeof v !== 'string') {
      bad(`${path}.${key}`, 'must be a string');
      return undefined;
    }
    if (re && !re.test(v)) {
      bad(`${path}.${key}`, `must be ${what ?? re.source}`);
      return undefined;
    }
    return v;
  };
  const nullableStr = (
    o: Record<string, unknown>,
    key: string,
    path: string,
    re: RegExp,
    what: string,
  ): string | null | undefined => {
    if (o[key] === null) return null;
    return str(o, key, path, re, what);
  };

  const currency = str(raw, 'currency', '$', /^[0-9]{3}$/, 'a 3-digit ISO 4217 code') ?? '156';
  const cards: TestCard[] = [];
  const ids = new Set<string>();
  const pans = new Map<string, TestCard>();
  const known = new Set([
    'id',
    'label',
    'pan',
    'psn',
    'expiry',
    'scheme',
    'serviceCode',
    'balance',
    'account',
    'pin',
    'imk',
    'cvn',
    'entryModes',
    'issuerScript',
    'token',
    'domestic',
  ]);

  if (!Array.isArray(raw['cards'])) bad('$.cards', 'must be an array');
  const rawCards = Array.isArray(raw['cards']) ? (raw['cards'] as unknown[]) : [];
  rawCards.forEach((c, i) => {
    const p = `$.cards[${i}]`;
    if (!isObj(c)) return bad(p, 'must be an object');
    for (const k of Object.keys(c)) if (!known.has(k)) bad(`${p}.${k}`, 'unknown property');
    const id = str(c, 'id', p, /^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes');
    if (id !== undefined && ids.has(id)) bad(`${p}.id`, `duplicate id ${id}`);
    if (id !== undefined) ids.add(id);
    const label = typeof c['label'] === 'string' ? c['label'] : (id ?? '');
    const panDigits = str(c, 'pan', p, /^[0-9]{12,19}$/, '12 to 19 digits');
    if (panDigits !== undefined && !luhnValid(panDigits)) bad(`${p}.pan`, 'fails the Luhn check');
    if (panDigits !== undefined && pans.has(panDigits)) bad(`${p}.pan`, 'duplicate PAN');
    const psn = nullableStr(c, 'psn', p, /^[0-9]{2}$/, '2 digits or null');
    const expiry = str(c, 'expiry', p, /^[0-9]{2}(0[1-9]|1[0-2])$/, 'YYMM');
    const scheme = str(c, 'scheme', p) as TestCard['scheme'] | undefined;
    if (scheme !== undefined && !(SCHEMES as readonly string[]).includes(scheme))
      bad(`${p}.scheme`, `must be one of ${SCHEMES.join(', ')}`);
    const serviceCode = str(c, 'serviceCode', p, /^[0-9]{3}$/, '3 digits');
    const account = c['account'] === undefined ? undefined : str(c, 'account', p);
    let balance: number | undefined;
    if (account === undefined) {
      const b = c['balance'];
      if (typeof b !== 'number' || !Number.isSafeInteger(b) || b < 0)
        bad(`${p}.balance`, 'must be a non-negative integer (fen)');
      else balance = b;
    } else if (c['balance'] !== undefined) {
      bad(`${p}.balance`, 'a card that uses another account has no balance of its own');
    }
    const pin = nullableStr(c, 'pin', p, /^[0-9]{4,12}$/, '4 to 12 digits or null');
    const imkHex = nullableStr(c, 'imk', p, /^[0-9A-Fa-f]{32}$/, '32 hex digits (16 bytes) or null');
    const cvn = c['cvn'] === undefined ? null : str(c, 'cvn', p, /^[0-9A-F]{2}$/, '2 upper-case hex digits');
    if (cvn && !cvnScheme(cvn)) bad(`${p}.cvn`, `CVN ${cvn} is not one the simulators can compute`);
    const modes = c['entryModes'];
    const entryModes: EntryMode[] = [];
    if (!Array.isArray(modes) || modes.length === 0) bad(`${p}.entryModes`, 'must be a non-empty array');
    else
      modes.forEach((m, j) => {
        if (typeof m === 'string' && (ENTRY_MODES as readonly string[]).includes(m))
          entryModes.push(m as EntryMode);
        else bad(`${p}.entryModes[${j}]`, `must be one of ${ENTRY_MODES.join(', ')}`);
      });
    const hasChip = entryModes.includes('chip') || entryModes.includes('contactless');
    if (hasChip && imkHex === null) bad(`${p}.imk`, 'a chip or contactless card needs an issuer master key');
    if (c['issuerScript'] !== undefined && typeof c['issuerScript'] !== 'boolean')
      bad(`${p}.issuerScript`, 'must be a boolean');
    if (c['domestic'] !== undefined && typeof c['domestic'] !== 'boolean')
      bad(`${p}.domestic`, 'must be a boolean');
    let token: DeviceToken | undefined;
    if (c['token'] !== undefined) {
      const t = c['token'];
      const tp = `${p}.token`;
      if (!isObj(t)) bad(tp, 'must be an object');
      else {
        const wallet = str(t, 'wallet', tp);
        const par = str(t, 'par', tp, /^[0-9A-Z]{29}$/, '29 upper-case letters and digits');
        const trid = str(t, 'tokenRequestorId', tp, /^[0-9]{11}$/, '11 digits');
        const funding = str(t, 'fundingCardId', tp);
        const last4 = str(t, 'fundingPanLast4', tp, /^[0-9]{4}$/, '4 digits');
        if (wallet && par && trid && funding && last4)
          token = { wallet, par, tokenRequestorId: trid, fundingCardId: funding, fundingPanLast4: last4 };
        if (!entryModes.every((m) => m === 'contactless'))
          bad(`${p}.entryModes`, 'a device token is read contactless only');
      }
    }
    if (id === undefined || panDigits === undefined || psn === undefined || expiry === undefined) return;
    if (scheme === undefined || serviceCode === undefined || pin === undefined || imkHex === undefined)
      return;
    const card: TestCard = {
      id,
      label,
      pan: Pan.fromDigits(panDigits),
      psn,
      expiry,
      scheme,
      domestic: typeof c['domestic'] === 'boolean' ? c['domestic'] : scheme === 'unionpay',
      serviceCode,
      balance,
      account: account ?? id,
      pin,
      imk: imkHex === null ? null : Buffer.from(imkHex, 'hex'),
      cvn: cvn ?? null,
      entryModes,
      issuerScript: c['issuerScript'] === true,
      token,
    };
    cards.push(card);
    pans.set(panDigits, card);
  });

  // Cross references: accounts and funding cards name cards with their own balance.
  cards.forEach((card) => {
    const i = rawCards.findIndex((c) => isObj(c) && c['id'] === card.id);
    const p = `$.cards[${i}]`;
    if (card.account !== card.id) {
      const target = cards.find((c) => c.id === card.account);
      if (!target) bad(`${p}.account`, `no card with id ${card.account}`);
      else if (target.balance === undefined) bad(`${p}.account`, `${card.account} has no balance of its own`);
    }
    if (card.token) {
      const funding = cards.find((c) => c.id === card.token!.fundingCardId);
      if (!funding) bad(`${p}.token.fundingCardId`, `no card with id ${card.token.fundingCardId}`);
      else if (funding.pan.lastFour !== card.token.fundingPanLast4)
        bad(`${p}.token.fundingPanLast4`, `does not match the last four of ${funding.id}`);
    }
  });

  const amountOutcomes: AmountOutcome[] = [];
  const suffixes = new Set<string>();
  if (!Array.isArray(raw['amountOutcomes'])) bad('$.amountOutcomes', 'must be an array');
  else
    (raw['amountOutcomes'] as unknown[]).forEach((o, i) => {
      const p = `$.amountOutcomes[${i}]`;
      if (!isObj(o)) return bad(p, 'must be an object');
      const suffix = str(o, 'suffix', p, /^[0-9]{2}$/, '2 digits');
      const outcome = str(o, 'outcome', p, /^(decline|partial)$/, '"decline" or "partial"');
      const responseCode = str(o, 'responseCode', p, /^[0-9A-Z]{2}$/, 'two characters');
      const meaning = typeof o['meaning'] === 'string' ? o['meaning'] : '';
      if (suffix !== undefined && suffixes.has(suffix)) bad(`${p}.suffix`, `duplicate suffix ${suffix}`);
      if (outcome === 'decline' && responseCode === '00') bad(`${p}.responseCode`, 'a decline cannot be 00');
      if (suffix === undefined || outcome === undefined || responseCode === undefined) return;
      suffixes.add(suffix);
      amountOutcomes.push({ suffix, outcome: outcome as 'decline' | 'partial', responseCode, meaning });
    });

  if (problems.length) throw new CardTableError(source, problems);

  const bySuffix = new Map(amountOutcomes.map((o) => [o.suffix, o]));
  const byIdMap = new Map(cards.map((c) => [c.id, c]));
  const panMap = new Map(cards.map((c) => [c.pan.reveal(), c]));
  return {
    currency,
    cards,
    amountOutcomes,
    byPan: (digits) => panMap.get(digits),
    byId: (id) => byIdMap.get(id),
    outcomeFor(amount) {
      const s = typeof amount === 'number' ? String(amount) : amount;
      return bySuffix.get(s.padStart(2, '0').slice(-2));
    },
  };
}

/** A log-safe view of a card (masked PAN, no PIN, no key). */
export function publicCardView(card: TestCard): Record<string, unknown> {
  return {
    id: card.id,
    label: card.label,
    pan: card.pan.masked,
    panLast4: card.pan.lastFour,
    psn: card.psn,
    scheme: card.scheme,
    domestic: card.domestic,
    serviceCode: card.serviceCode,
    account: card.account,
    hasPin: card.pin !== null,
    chip: card.imk !== null,
    entryModes: card.entryModes,
    issuerScript: card.issuerScript,
    token: card.token
      ? {
          wallet: card.token.wallet,
          par: card.token.par,
          tokenRequestorId: card.token.tokenRequestorId,
          fundingCardId: card.token.fundingCardId,
          fundingPanLast4: card.token.fundingPanLast4,
        }
      : undefined,
  };
}
