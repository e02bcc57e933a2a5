/**
 * Fault rules: `{ id?, match: { mti?, processingCode?, panLast4?, amount?, nth? }, action, times?, delayMs? }`.
 *
 * A rule matches a request when every `match` value given equals the request's (MTI, field 3, last four
 * of field 2, field 4 in fen). Each matching request counts; the rule fires from the `nth` matching
 * request on (default 1) and at most `times` times (default: until removed). The first rule (in the
 * order added) that fires decides; one action per request. `reversal_96` only matches 0400/0401, and
 * `refuse_connections` is checked when a connection is accepted (its `match` is ignored).
 */

export const FAULT_ACTIONS = [
  'drop_response',
  'delay',
  'close_before_response',
  'close_after_response',
  'corrupt_mac',
  'wrong_stan',
  'duplicate_response',
  'garbage',
  'reversal_96',
  'refuse_connections',
] as const;

export type FaultAction = (typeof FAULT_ACTIONS)[number];

export interface FaultMatch {
  mti?: string;
  processingCode?: string;
  panLast4?: string;
  /** Fen, as a number or a digit string. */
  amount?: number | string;
  /** Fire from the nth matching request on (1-based). */
  nth?: number;
}

export interface FaultRuleInput {
  id?: string;
  match?: FaultMatch;
  action: FaultAction;
  times?: number;
  /** For `delay`: milliseconds before the answer. */
  delayMs?: number;
}

export interface FaultRule {
  id: string;
  match: FaultMatch;
  action: FaultAction;
  times: number | null;
  delayMs?: number;
  /** Requests (or connections) that matched so far. */
  matched: number;
  /** Times the action was applied. */
  fired: number;
}

export interface RequestFacts {
  mti: string;
  processingCode?: string;
  panLast4?: string;
  amount?: number;
}

export class FaultError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'FaultError';
  }
}

/** Validates one rule (throws `FaultError` with a JSON path). */
export function parseFaultRule(raw: unknown, path = '$'): FaultRuleInput {
  const isObj = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObj(raw)) throw new FaultError('a fault rule must be an object', path);
  for (const k of Object.keys(raw))
    if (!['id', 'match', 'action', 'times', 'delayMs'].includes(k))
      throw new FaultError('unknown property', `${path}.${k}`);
  const action = raw['action'];
  if (typeof action !== 'string' || !(FAULT_ACTIONS as readonly string[]).includes(action))
    throw new FaultError(`action must be one of ${FAULT_ACTIONS.join(', ')}`, `${path}.action`);
  const out: FaultRuleInput = { action: action as FaultAction };
  if (raw['id'] !== undefined) {
    if (typeof raw['id'] !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(raw['id']))
      throw new FaultError('id must be 1-64 letters, digits, _ . -', `${path}.id`);
    out.id = raw['id'];
  }
  const posInt = (v: unknown, p: string): number => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1)
      throw new FaultError('must be a positive integer', p);
    return v;
  };
  if (raw['times'] !== undefined && raw['times'] !== null) out.times = posInt(raw['times'], `${path}.times`);
  if (raw['delayMs'] !== undefined) {
    const d = raw['delayMs'];
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0 || d > 600_000)
      throw new FaultError('must be an integer 0..600000', `${path}.delayMs`);
    out.delayMs = d;
  }
  if (out.action === 'delay' && out.delayMs === undefined)
    throw new FaultError('delay needs delayMs', `${path}.delayMs`);
  const m = raw['match'];
  if (m !== undefined) {
    if (!isObj(m)) throw new FaultError('must be an object', `${path}.match`);
    const match: FaultMatch = {};
    for (const [k, v] of Object.entries(m)) {
      const p = `${path}.match.${k}`;
      switch (k) {
        case 'mti':
          if (typeof v !== 'string' || !/^[0-9]{4}$/.test(v)) throw new FaultError('must be 4 digits', p);
          match.mti = v;
          break;
        case 'processingCode':
          if (typeof v !== 'string' || !/^[0-9]{6}$/.test(v)) throw new FaultError('must be 6 digits', p);
          match.processingCode = v;
          break;
        case 'panLast4':
          if (typeof v !== 'string' || !/^[0-9]{4}$/.test(v)) throw new FaultError('must be 4 digits', p);
          match.panLast4 = v;
          break;
        case 'amount':
          if (
            typeof v === 'number'
              ? !Number.isSafeInteger(v) || v < 0
              : typeof v !== 'string' || !/^[0-9]{1,12}$/.test(v)
          )
            throw new FaultError('must be fen as an integer or digit string', p);
          match.amount = Number(v);
          break;
        case 'nth':
          match.nth = posInt(v, p);
          break;
        default:
          throw new FaultError('unknown match property', p);
      }
    }
    out.match = match;
  }
  return out;
}

export class FaultRules {
  private rules: FaultRule[] = [];
  private seq = 0;

  list(): FaultRule[] {
    return this.rules.map((r) => ({ ...r, match: { ...r.match } }));
  }

  add(input: FaultRuleInput): FaultRule {
    const parsed = parseFaultRule(input);
    const id = parsed.id ?? `f${++this.seq}`;
    if (this.rules.some((r) => r.id === id)) throw new FaultError(`a rule with id ${id} exists`, '$.id');
    const rule: FaultRule = {
      id,
      match: parsed.match ?? {},
      action: parsed.action,
      times: parsed.times ?? null,
      matched: 0,
      fired: 0,
      ...(parsed.delayMs !== undefined ? { delayMs: parsed.delayMs } : {}),
    };
    this.rules.push(rule);
    return rule;
  }

  remove(id: string): boolean {
    const n = this.rules.length;
    this.rules = this.rules.filter((r) => r.id !== id);
    return this.rules.length !== n;
  }

  clear(): void {
    this.rules = [];
  }

  get size(): number {
    return this.rules.length;
  }

  /** The action for a request, if a rule fires (counts it). */
  forRequest(facts: RequestFacts): FaultRule | undefined {
    if (this.rules.length === 0) return undefined;
    let chosen: FaultRule | undefined;
    for (const r of this.rules) {
      if (r.action === 'refuse_connections') continue;
      if (r.action === 'reversal_96' && facts.mti !== '0400' && facts.mti !== '0401') continue;
      if (!matches(r.match, facts)) continue;
      r.matched += 1;
      if (chosen) continue;
      if (r.matched >= (r.match.nth ?? 1) && (r.times === null || r.fired < r.times)) {
        r.fired += 1;
        chosen = r;
      }
    }
    return chosen;
  }

  /** True when a new connection must be refused (counts it). */
  refuseConnection(): FaultRule | undefined {
    for (const r of this.rules) {
      if (r.action !== 'refuse_connections') continue;
      r.matched += 1;
      if (r.matched >= (r.match.nth ?? 1) && (r.times === null || r.fired < r.times)) {
        r.fired += 1;
        return r;
      }
    }
    return undefined;
  }
}

function matches(m: FaultMatch, f: RequestFacts): boolean {
  if (m.mti !== undefined && m.mti !== f.mti) return false;
  if (m.processingCode !== undefined && m.processingCode !== f.processingCode) return false;
  if (m.panLast4 !== undefined && m.panLast4 !== f.panLast4) return false;
  if (m.amount !== undefined && m.amount !== f.amount) return false;
  return true;
}
