/**
 * What the simulated ZVT terminal, its customer and its host do; set through the control API
 * (POST /behaviour, validated: an unknown key is a 400 naming it) or the in-process handle.
 * One-shot faults (`approveThenDropCompletion`, `disconnectMidTransaction`) clear themselves once they
 * happened; the serial counters (`nakFrames`, `badCrc`) count down.
 */
export interface ZvtBehaviour {
  /** Card id from simulators/cards.json the customer presents (masked PAN on results and receipts). */
  card: string;
  /** Book the payment (Status-Information acknowledged), then close the link before the Completion (one-shot). */
  approveThenDropCompletion: boolean;
  /** Close the link during the PIN entry, before any result (one-shot): nothing is booked. */
  disconnectMidTransaction: boolean;
  /** Serial: NAK the next N valid frames received. */
  nakFrames: number;
  /** Serial: send the next N frames with a wrong CRC (their repeats are correct). */
  badCrc: number;
  /** ASCII text sent on every new connection before any APDU (a device that prints a banner); null: none. */
  nonZvtBanner: string | null;
  /** Commands answered 84 83 (function not possible), e.g. ["06 31"]. */
  disabledCommands: string[];
  /** An Abort 06 B0 arrives too late: the payment is approved anyway. */
  abortAfterApproval: boolean;
  /** The card's CVM is signature: TLV 2F/1F10 = 01 and a signature line on the merchant copy. */
  signatureRequired: boolean;
  /** Transaction commands are answered 84 A0 (receiver not ready). */
  busy: boolean;
  /** A PIN entry this long (ms; 0: quick); 04 FF 01 is sent every `statusEveryMs` meanwhile. */
  longPinEntryMs: number;
  statusEveryMs: number;
  /** Amounts whose last two digits are a decline suffix of cards.json (51, 55, 05, 14, 54, 91) decline. */
  declineAmountSuffix: boolean;
  /** The customer presses cancel at the card prompt: 06 1E 6C. */
  customerCancels: boolean;
  /** Simulated card and host delays (ms). */
  cardDelayMs: number;
  processingMs: number;
}

export const DEFAULT_ZVT_BEHAVIOUR: ZvtBehaviour = {
  card: 'visa-chip',
  approveThenDropCompletion: false,
  disconnectMidTransaction: false,
  nakFrames: 0,
  badCrc: 0,
  nonZvtBanner: null,
  disabledCommands: [],
  abortAfterApproval: false,
  signatureRequired: false,
  busy: false,
  longPinEntryMs: 0,
  statusEveryMs: 1000,
  declineAmountSuffix: true,
  customerCancels: false,
  cardDelayMs: 10,
  processingMs: 20,
};

export class ZvtBehaviourError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'ZvtBehaviourError';
  }
}

const BOOLEANS = [
  'approveThenDropCompletion',
  'disconnectMidTransaction',
  'abortAfterApproval',
  'signatureRequired',
  'busy',
  'declineAmountSuffix',
  'customerCancels',
] as const;
const COUNTS = [
  'nakFrames',
  'badCrc',
  'longPinEntryMs',
  'statusEveryMs',
  'cardDelayMs',
  'processingMs',
] as const;

/** Validates a partial behaviour; unknown keys and wrong types are `ZvtBehaviourError`s naming the key. */
export function parseZvtBehaviour(raw: unknown, knownCard?: (id: string) => boolean): Partial<ZvtBehaviour> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ZvtBehaviourError('$', 'must be an object');
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    const path = `$.${k}`;
    if ((BOOLEANS as readonly string[]).includes(k)) {
      if (typeof v !== 'boolean') throw new ZvtBehaviourError(path, 'must be true or false');
      out[k] = v;
    } else if ((COUNTS as readonly string[]).includes(k)) {
      if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 600_000)
        throw new ZvtBehaviourError(path, 'must be an integer 0..600000');
      if (k === 'statusEveryMs' && (v as number) < 10)
        throw new ZvtBehaviourError(path, 'must be at least 10');
      out[k] = v;
    } else if (k === 'card') {
      if (typeof v !== 'string' || (knownCard && !knownCard(v)))
        throw new ZvtBehaviourError(path, 'must be a card id from cards.json');
      out[k] = v;
    } else if (k === 'nonZvtBanner') {
      if (v !== null && (typeof v !== 'string' || !/^[\x20-\x7e\r\n\t]{1,200}$/.test(v)))
        throw new ZvtBehaviourError(path, 'must be null or 1-200 printable ASCII characters');
      out[k] = v;
    } else if (k === 'disabledCommands') {
      if (
        !Array.isArray(v) ||
        !v.every((c) => typeof c === 'string' && /^[0-9A-Fa-f]{2} [0-9A-Fa-f]{2}$/.test(c))
      )
        throw new ZvtBehaviourError(path, 'must be a list of commands like "06 31"');
      out[k] = (v as string[]).map((c) => c.toUpperCase());
    } else {
      throw new ZvtBehaviourError(path, 'unknown behaviour');
    }
  }
  return out as Partial<ZvtBehaviour>;
}
