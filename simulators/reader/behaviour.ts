/**
 * What the simulated customer, card and reader do, set through the control API (POST /behaviour) or
 * the in-process handle. One-shot behaviours (`dropLinkAt`, `corruptFrames`) clear themselves once
 * they happened.
 */
/** `during_load_keys`: the reader takes the working keys, then the link drops before its answer. */
export type DropStep = 'before_card_read' | 'after_card_read' | 'after_host_approval' | 'during_load_keys';
export const DROP_STEPS: readonly DropStep[] = [
  'before_card_read',
  'after_card_read',
  'after_host_approval',
  'during_load_keys',
];

export type Presentation = 'auto' | 'chip' | 'contactless' | 'magstripe' | 'fallback' | 'keyed';
export const PRESENTATIONS: readonly Presentation[] = [
  'auto',
  'chip',
  'contactless',
  'magstripe',
  'fallback',
  'keyed',
];

export type OdaMethod = 'dda' | 'sda';
export const ODA_METHODS: readonly OdaMethod[] = ['dda', 'sda'];

export interface Behaviour {
  /** Card id from simulators/cards.json. */
  card: string;
  /** How the card is presented; `auto`: chip, else contactless, else magstripe, as the card and request allow. */
  presentation: Presentation;
  /** The customer presses cancel at the card prompt. */
  customerCancels: boolean;
  /** The customer enters a wrong PIN (the PIN block holds another PIN). */
  wrongPin: boolean;
  /** The card is pulled out before the completion reaches it. */
  cardRemovedBeforeCompletion: boolean;
  /** Nobody presents a card: the transaction times out. */
  noCard: boolean;
  /** How long "no card" takes; null: the timeout the transaction was started with. */
  noCardTimeoutMs: number | null;
  /** Drop the link once at this step (one-shot). */
  dropLinkAt: DropStep | null;
  /** How long a dropped serial / stream link stays silent (TCP: the connection is closed instead). */
  dropForMs: number;
  /** Corrupt the first transmission of the next N frames the reader sends (one-shot counter). */
  corruptFrames: number;
  /** A slow link: delay between MTU-sized chunks, and the MTU the reader writes with. */
  slowLink: { chunkDelayMs: number; mtu?: number } | null;
  batteryPercent: number;
  /** Below this battery level START is refused (`low_battery`). */
  lowBatteryThreshold: number;
  /** The chip declines (AAC) at completion although the host approved. */
  chipDeclines: boolean;
  /**
   * The offline data authentication the reader's kernel runs when it holds a CAPK set: `dda` (the
   * cards' AIP supports SDA and DDA, and EMV picks DDA) or `sda` (a kernel without DDA).
   */
  odaMethod: OdaMethod;
  /**
   * The card is a clone: the genuine card's static data and certificates, but not its private key, so
   * its dynamic signature is not the card's. SDA cannot tell; DDA fails ('08' in the TVR).
   */
  clonedCard: boolean;
  /** Delays of the simulated customer and card (ms). */
  cardDelayMs: number;
  pinDigitDelayMs: number;
  processingDelayMs: number;
}

export const DEFAULT_BEHAVIOUR: Behaviour = {
  card: 'cup-debit-chip',
  presentation: 'auto',
  customerCancels: false,
  wrongPin: false,
  cardRemovedBeforeCompletion: false,
  noCard: false,
  noCardTimeoutMs: null,
  dropLinkAt: null,
  dropForMs: 400,
  corruptFrames: 0,
  slowLink: null,
  batteryPercent: 87,
  lowBatteryThreshold: 10,
  chipDeclines: false,
  odaMethod: 'dda',
  clonedCard: false,
  cardDelayMs: 20,
  pinDigitDelayMs: 5,
  processingDelayMs: 10,
};

export class BehaviourError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'BehaviourError';
  }
}

const BOOLEANS = [
  'customerCancels',
  'wrongPin',
  'cardRemovedBeforeCompletion',
  'noCard',
  'chipDeclines',
  'clonedCard',
] as const;
const COUNTS = ['dropForMs', 'corruptFrames', 'cardDelayMs', 'pinDigitDelayMs', 'processingDelayMs'] as const;

/** Validates a partial behaviour (unknown keys and wrong types are `BehaviourError`s). */
export function parseBehaviour(raw: unknown, knownCards?: (id: string) => boolean): Partial<Behaviour> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new BehaviourError('$', 'must be an object');
  const r = raw as Record<string, unknown>;
  const out: Partial<Behaviour> = {};
  for (const [k, v] of Object.entries(r)) {
    const path = `$.${k}`;
    if ((BOOLEANS as readonly string[]).includes(k)) {
      if (typeof v !== 'boolean') throw new BehaviourError(path, 'must be true or false');
      (out as Record<string, unknown>)[k] = v;
    } else if ((COUNTS as readonly string[]).includes(k)) {
      if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 600_000)
        throw new BehaviourError(path, 'must be an integer 0..600000');
      (out as Record<string, unknown>)[k] = v;
    } else if (k === 'card') {
      if (typeof v !== 'string' || (knownCards && !knownCards(v)))
        throw new BehaviourError(path, 'must be a card id from cards.json');
      out.card = v;
    } else if (k === 'presentation') {
      if (!PRESENTATIONS.includes(v as Presentation))
        throw new BehaviourError(path, `must be one of ${PRESENTATIONS.join(', ')}`);
      out.presentation = v as Presentation;
    } else if (k === 'odaMethod') {
      if (!ODA_METHODS.includes(v as OdaMethod))
        throw new BehaviourError(path, `must be one of ${ODA_METHODS.join(', ')}`);
      out.odaMethod = v as OdaMethod;
    } else if (k === 'dropLinkAt') {
      if (v !== null && !DROP_STEPS.includes(v as DropStep))
        throw new BehaviourError(path, `must be null or one of ${DROP_STEPS.join(', ')}`);
      out.dropLinkAt = v as DropStep | null;
    } else if (k === 'noCardTimeoutMs') {
      if (v !== null && (!Number.isInteger(v) || (v as number) < 0))
        throw new BehaviourError(path, 'must be null or a non-negative integer');
      out.noCardTimeoutMs = v as number | null;
    } else if (k === 'batteryPercent' || k === 'lowBatteryThreshold') {
      if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 100)
        throw new BehaviourError(path, 'must be an integer 0..100');
      out[k] = v as number;
    } else if (k === 'slowLink') {
      if (v === null) out.slowLink = null;
      else {
        if (typeof v !== 'object' || Array.isArray(v))
          throw new BehaviourError(path, 'must be null or { chunkDelayMs, mtu? }');
        const s = v as Record<string, unknown>;
        if (!Number.isInteger(s['chunkDelayMs']) || (s['chunkDelayMs'] as number) < 0)
          throw new BehaviourError(`${path}.chunkDelayMs`, 'non-negative integer');
        if (s['mtu'] !== undefined && (!Number.isInteger(s['mtu']) || (s['mtu'] as number) < 1))
          throw new BehaviourError(`${path}.mtu`, 'positive integer');
        out.slowLink = {
          chunkDelayMs: s['chunkDelayMs'] as number,
          ...(s['mtu'] !== undefined ? { mtu: s['mtu'] as number } : {}),
        };
      }
    } else {
      throw new BehaviourError(path, 'unknown behaviour');
    }
  }
  return out;
}
