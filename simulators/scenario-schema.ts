/**
 * The JSON Schema of QA scenario files (docs/qa-scenarios.md), and the validator the runner uses before
 * it starts anything. The schema is strict: no unknown keys anywhere, one action per step, one check per
 * expectation, and enums built from the sources of truth: step kinds from `STEP_KINDS`, fault actions
 * from the host simulator (`FAULT_ACTIONS`), reader behaviours from the reader simulator, ZVT terminal
 * behaviours from the ZVT simulator (`DEFAULT_ZVT_BEHAVIOUR`), card ids from `simulators/cards.json`,
 * payment kinds and final states from the CRM protocol types, ZVT ledger statuses from its ledger type.
 * A scenario's `terminal` (`reader`, the default, or `zvt`) decides which simulator steps and ledger
 * checks it may use. `posbridge-sim run --schema` prints it.
 *
 * After the schema, cross references are checked: payment keys are unique, and `partial`, `settle`,
 * `cancel`, `pay.originalKey` and expectations name a payment a `pay` step created.
 *
 * Every problem is reported at once, as `<file>: <JSON path>: <what was expected> (got <value>)`, e.g.
 * `03.json: steps[0].hostFault.action: must be one of drop_response, delay, … (got "drop_respons")`.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { FINAL_PAYMENT_STATES, PAYMENT_KINDS } from '../src/api/client/types.js';
import { FAULT_ACTIONS } from './host/faults.js';
import { DROP_STEPS, ODA_METHODS, PRESENTATIONS } from './reader/behaviour.js';
import { loadCards } from './shared/cards.js';
import { DEFAULT_ZVT_BEHAVIOUR } from './zvt/behaviour.js';
import type { ZvtTxnStatus } from './zvt/ledger.js';

/** Step kinds, in the order docs/qa-scenarios.md describes them. A step has exactly one. */
export const STEP_KINDS = [
  'hostFault',
  'reader',
  'zvt',
  'pay',
  'cancel',
  'kill',
  'partial',
  'settle',
  'sleep',
] as const;
export type StepKind = (typeof STEP_KINDS)[number];

/** What an expectation checks (exactly one, besides `key`). */
export const EXPECTATION_CHECKS = ['state', 'reason', 'host', 'zvt', 'consistent'] as const;

/** The terminal a scenario pays with: a card reader (with the acquirer host simulator) or a ZVT terminal. */
export const SCENARIO_TERMINALS = ['reader', 'zvt'] as const;
export type ScenarioTerminal = (typeof SCENARIO_TERMINALS)[number];

/** Steps and checks that need the reader and host simulators, or the ZVT simulator. */
const READER_ONLY_STEPS = ['hostFault', 'reader', 'partial'] as const;
const ZVT_ONLY_STEPS = ['zvt'] as const;

/** Every ZVT ledger status (`ZvtTxnStatus`; the record makes a new one a compile error here). */
const ZVT_LEDGER: Record<ZvtTxnStatus, true> = {
  approved: true,
  declined: true,
  reversed: true,
  refunded: true,
};
/**
 * What a `zvt` expectation checks: the ZVT simulator's ledger status of the payment's transaction
 * (matched by receipt number, else by type and amount), or `none`: the terminal booked nothing for it.
 */
export const ZVT_STATUSES = [...(Object.keys(ZVT_LEDGER) as ZvtTxnStatus[]), 'none'] as const;

/**
 * Host ledger statuses (`Ledger.status` in simulators/host/ledger.ts), plus `absent`: no request of the
 * payment reached the host.
 */
export const HOST_STATUSES = [
  'approved',
  'partially_approved',
  'declined',
  'reversed',
  'voided',
  'released',
  'held',
  'completed',
  'refunded',
  'partially_refunded',
  'absent',
] as const;

type Schema = Record<string, unknown>;

const strictObject = (
  properties: Record<string, Schema>,
  required: string[] = [],
  extra: Schema = {},
): Schema => ({
  type: 'object',
  properties,
  required,
  additionalProperties: false,
  ...extra,
});
const int = (minimum: number, maximum?: number, description?: string): Schema => ({
  type: 'integer',
  minimum,
  ...(maximum !== undefined ? { maximum } : {}),
  ...(description ? { description } : {}),
});
const oneOrMore = (values: readonly string[]): Schema => ({
  anyOf: [
    { type: 'string', enum: [...values] },
    { type: 'array', items: { type: 'string', enum: [...values] }, minItems: 1, uniqueItems: true },
  ],
});
const paymentKey: Schema = {
  type: 'string',
  pattern: '^[A-Za-z0-9_.-]{1,32}$',
  description: 'the name the scenario gives a payment (1-32 letters, digits, _ . -)',
};

/** The card ids of simulators/cards.json (the default table, as both simulators load it). */
export function cardIds(): string[] {
  return loadCards().cards.map((c) => c.id);
}

/** The scenario JSON Schema (draft-07), with the card enum taken from `cards` (default: cards.json). */
export function scenarioSchema(cards: readonly string[] = cardIds()): Schema {
  const card: Schema = {
    type: 'string',
    enum: [...cards],
    description: 'a card id from simulators/cards.json',
  };

  // Mirrors parseFaultRule (simulators/host/faults.ts); the host simulator checks the same again.
  const hostFault = strictObject(
    {
      id: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' },
      action: { type: 'string', enum: [...FAULT_ACTIONS] },
      match: strictObject({
        mti: { type: 'string', pattern: '^[0-9]{4}$' },
        processingCode: { type: 'string', pattern: '^[0-9]{6}$' },
        panLast4: { type: 'string', pattern: '^[0-9]{4}$' },
        amount: {
          anyOf: [
            { type: 'integer', minimum: 0 },
            { type: 'string', pattern: '^[0-9]{1,12}$' },
          ],
        },
        nth: int(1),
      }),
      times: { anyOf: [int(1), { type: 'null' }] },
      delayMs: int(0, 600_000),
    },
    ['action'],
    {
      if: { properties: { action: { const: 'delay' } }, required: ['action'] },
      then: { properties: { delayMs: true }, required: ['delayMs'] },
      else: { properties: { delayMs: { not: {}, description: 'only for action "delay"' } } },
    },
  );

  // Mirrors parseBehaviour (simulators/reader/behaviour.ts); the reader simulator checks the same again.
  const flag: Schema = { type: 'boolean' };
  const ms = int(0, 600_000);
  const zvt = zvtBehaviourSchema(card);
  const reader = strictObject(
    {
      card,
      presentation: { type: 'string', enum: [...PRESENTATIONS] },
      customerCancels: flag,
      wrongPin: flag,
      cardRemovedBeforeCompletion: flag,
      noCard: flag,
      chipDeclines: flag,
      odaMethod: { type: 'string', enum: [...ODA_METHODS] },
      clonedCard: flag,
      noCardTimeoutMs: { anyOf: [int(0), { type: 'null' }] },
      dropLinkAt: { enum: [...DROP_STEPS, null] },
      dropForMs: ms,
      corruptFrames: ms,
      slowLink: {
        anyOf: [strictObject({ chunkDelayMs: int(0), mtu: int(1) }, ['chunkDelayMs']), { type: 'null' }],
      },
      batteryPercent: int(0, 100),
      lowBatteryThreshold: int(0, 100),
      cardDelayMs: ms,
      pinDigitDelayMs: ms,
      processingDelayMs: ms,
    },
    [],
    { minProperties: 1 },
  );

  const stepProperties: Record<StepKind, Schema> = {
    hostFault,
    reader,
    zvt,
    pay: strictObject(
      {
        key: paymentKey,
        amount: int(1, 999_999_999_999, 'fen'),
        kind: { type: 'string', enum: [...PAYMENT_KINDS] },
        originalKey: paymentKey,
        cardPresent: flag,
      },
      ['key'],
    ),
    cancel: strictObject({ key: paymentKey, afterMs: ms }, ['key']),
    kill: strictObject({ afterMs: ms }),
    partial: strictObject({ key: paymentKey, accept: flag }, ['key', 'accept']),
    settle: strictObject({ key: paymentKey, timeoutMs: int(1, 600_000) }, ['key']),
    sleep: ms,
  };

  const hostStatuses = HOST_STATUSES as readonly string[];
  // What a scenario's terminal rules out: a ZVT scenario has no reader or host simulator, a reader
  // scenario no ZVT simulator. Said per step and per expectation, with the reason.
  const notFor = (terminal: ScenarioTerminal, steps: readonly string[], check: string): Schema => {
    const why = `not in a ${terminal === 'zvt' ? 'ZVT' : 'reader'} scenario (terminal ${JSON.stringify(
      terminal,
    )}): ${terminal === 'zvt' ? 'use zvt steps and zvt checks' : 'set "terminal": "zvt" to use the ZVT simulator'}`;
    return {
      properties: {
        steps: {
          type: 'array',
          items: {
            type: 'object',
            properties: Object.fromEntries(steps.map((k) => [k, { not: {}, description: why }])),
          },
        },
        expect: {
          type: 'array',
          items: { type: 'object', properties: { [check]: { not: {}, description: why } } },
        },
      },
    };
  };
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://posbridge.local/schemas/qa-scenario.json',
    title: 'posbridge QA scenario',
    ...strictObject(
      {
        $schema: { type: 'string' },
        name: { type: 'string', minLength: 1 },
        card: {
          ...card,
          description:
            'the card the reader (default cup-debit-chip) or the ZVT terminal (default visa-chip) reads',
        },
        terminal: {
          type: 'string',
          enum: [...SCENARIO_TERMINALS],
          description: 'what takes the payments: reader (default) or zvt (the ZVT terminal simulator)',
        },
        steps: {
          type: 'array',
          items: {
            ...strictObject(stepProperties, [], { minProperties: 1, maxProperties: 1 }),
            description: `a step has exactly one of ${STEP_KINDS.join(', ')}`,
          },
        },
        expect: {
          type: 'array',
          minItems: 1,
          items: {
            ...strictObject(
              {
                key: paymentKey,
                state: oneOrMore(FINAL_PAYMENT_STATES),
                reason: { type: 'string', pattern: '^[a-z0-9_]+$' },
                host: oneOrMore(hostStatuses),
                zvt: oneOrMore(ZVT_STATUSES),
                consistent: { const: true },
              },
              ['key'],
              { minProperties: 2, maxProperties: 2 },
            ),
            description: `an expectation has a key and exactly one of ${EXPECTATION_CHECKS.join(', ')}`,
          },
        },
      },
      ['name', 'steps', 'expect'],
      {
        if: { properties: { terminal: { const: 'zvt' } }, required: ['terminal'] },
        then: notFor('zvt', READER_ONLY_STEPS, 'host'),
        else: notFor('reader', ZVT_ONLY_STEPS, 'zvt'),
      },
    ),
  };
}

/**
 * The `zvt` step: a partial behaviour of the ZVT terminal simulator (`POST /behaviour`). Its keys are
 * `DEFAULT_ZVT_BEHAVIOUR`'s and each type follows the default's, with the ranges of `parseZvtBehaviour`
 * (simulators/zvt/behaviour.ts), which checks the same again. A behaviour key of a type this function
 * does not know is an error when the schema is built, so a new key cannot go unchecked.
 */
export function zvtBehaviourSchema(card: Schema): Schema {
  const properties: Record<string, Schema> = {};
  for (const [key, value] of Object.entries(DEFAULT_ZVT_BEHAVIOUR)) {
    if (key === 'card') properties[key] = card;
    else if (key === 'disabledCommands')
      properties[key] = {
        type: 'array',
        items: {
          type: 'string',
          pattern: '^[0-9A-Fa-f]{2} [0-9A-Fa-f]{2}$',
          description: 'a ZVT command as two hex bytes, e.g. "06 31"',
        },
        uniqueItems: true,
      };
    else if (key === 'nonZvtBanner')
      properties[key] = {
        anyOf: [
          {
            type: 'string',
            pattern: '^[\\x20-\\x7e\\r\\n\\t]{1,200}$',
            description: '1-200 printable ASCII characters',
          },
          { type: 'null' },
        ],
      };
    else if (key === 'statusEveryMs') properties[key] = int(10, 600_000);
    else if (typeof value === 'boolean') properties[key] = { type: 'boolean' };
    else if (typeof value === 'number') properties[key] = int(0, 600_000);
    else throw new Error(`scenario schema: ZVT behaviour ${key} has a type the schema does not know`);
  }
  return strictObject(properties, [], { minProperties: 1 });
}

export interface ScenarioProblem {
  /** `steps[3].hostFault.action`; empty for the whole document. */
  path: string;
  message: string;
}

export class ScenarioValidationError extends Error {
  constructor(
    readonly source: string,
    readonly problems: ScenarioProblem[],
  ) {
    super(
      problems.length === 1
        ? formatProblem(source, problems[0]!)
        : `${source}: ${problems.length} problems:\n${problems.map((p) => `  ${formatProblem(source, p)}`).join('\n')}`,
    );
    this.name = 'ScenarioValidationError';
  }
}

function formatProblem(source: string, p: ScenarioProblem): string {
  return `${source}: ${p.path || '(document)'}: ${p.message}`;
}

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (!compiled) {
    const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true });
    compiled = ajv.compile(scenarioSchema());
  }
  return compiled;
}

/** `/steps/3/hostFault` → `steps[3].hostFault`. */
function jsonPath(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^[0-9]+$/.test(seg) ? `[${seg}]` : out ? `.${seg}` : seg;
  }
  return out;
}

const join = (path: string, key: string): string => (path ? `${path}.${key}` : key);
const got = (v: unknown): string => {
  const text = JSON.stringify(v);
  return ` (got ${text === undefined ? String(v) : text.length > 60 ? `${text.slice(0, 57)}...` : text})`;
};

function describe(e: ErrorObject): ScenarioProblem | undefined {
  const path = jsonPath(e.instancePath);
  const parent = (e.parentSchema ?? {}) as Schema;
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'if':
    case 'anyOf':
      // `if`: the `then` / `else` error says it; `anyOf`: its branches' errors do (see `collapse`).
      return undefined;
    case 'additionalProperties': {
      const allowed = Object.keys((parent['properties'] ?? {}) as Schema).filter((k) => k !== '$schema');
      return {
        path: join(path, String(p['additionalProperty'])),
        message: `unknown key; allowed: ${allowed.join(', ')}`,
      };
    }
    case 'required':
      return { path: join(path, String(p['missingProperty'])), message: 'required' };
    case 'minProperties':
    case 'maxProperties': {
      const what = typeof parent['description'] === 'string' ? parent['description'] : e.message;
      const keys = e.data && typeof e.data === 'object' ? Object.keys(e.data) : [];
      return { path, message: `${what} (got ${keys.length ? keys.join(', ') : 'none'})` };
    }
    case 'enum':
      return {
        path,
        message: `must be one of ${(p['allowedValues'] as unknown[]).map(String).join(', ')}${got(e.data)}`,
      };
    case 'const':
      return { path, message: `must be ${JSON.stringify(p['allowedValue'])}${got(e.data)}` };
    case 'not':
      return {
        path,
        message: `${typeof parent['description'] === 'string' ? parent['description'] : 'not allowed'}`,
      };
    case 'type':
      return { path, message: `must be ${String(p['type']).replace(/,/g, ' or ')}${got(e.data)}` };
    case 'pattern': {
      const d = parent['description'];
      return {
        path,
        message: `${typeof d === 'string' ? `must be ${d}` : `must match ${String(p['pattern'])}`}${got(e.data)}`,
      };
    }
    default:
      return { path, message: `${e.message ?? e.keyword}${got(e.data)}` };
  }
}

/**
 * One problem per value: when a value fails every branch of an `anyOf` (a card id or a list of them,
 * a number or null), only the branches whose type fits the value speak; when none fits, one message
 * lists every branch's type.
 */
function collapse(errors: ErrorObject[]): ScenarioProblem[] {
  const skip = new Set<ErrorObject>();
  const instead = new Map<ErrorObject, ScenarioProblem>();
  for (const a of errors.filter((e) => e.keyword === 'anyOf')) {
    const branches = new Map<string, ErrorObject[]>();
    for (const x of errors) {
      if (x === a || !x.schemaPath.startsWith(`${a.schemaPath}/`)) continue;
      if (x.instancePath !== a.instancePath && !x.instancePath.startsWith(`${a.instancePath}/`)) continue;
      const branch = x.schemaPath.slice(a.schemaPath.length + 1).split('/')[0]!;
      branches.set(branch, [...(branches.get(branch) ?? []), x]);
    }
    const wrongType = (b: ErrorObject[]): ErrorObject | undefined =>
      b.find((x) => x.keyword === 'type' && x.instancePath === a.instancePath);
    const fitting = [...branches.values()].filter((b) => !wrongType(b));
    for (const b of branches.values()) if (!fitting.includes(b)) b.forEach((x) => skip.add(x));
    if (fitting.length) {
      skip.add(a);
      continue;
    }
    const types = [...branches.values()].map((b) =>
      String((wrongType(b)!.params as { type: unknown }).type).replace(/,/g, ' or '),
    );
    instead.set(a, {
      path: jsonPath(a.instancePath),
      message: `must be ${types.join(' or ')}${got(a.data)}`,
    });
  }
  const out: ScenarioProblem[] = [];
  for (const e of errors) {
    if (skip.has(e)) continue;
    const d = instead.get(e) ?? describe(e);
    if (d && !out.some((o) => o.path === d.path && o.message === d.message)) out.push(d);
  }
  return out;
}

/** Cross references the schema cannot express: unique payment keys, keys that name a payment. */
function references(s: {
  steps: Record<string, Record<string, unknown>>[];
  expect: { key: string }[];
}): ScenarioProblem[] {
  const problems: ScenarioProblem[] = [];
  const paid = new Map<string, number>();
  const known = (key: string, at: string, before: boolean): void => {
    if (!paid.has(key))
      problems.push({
        path: at,
        message: `no pay step ${before ? 'before it ' : ''}has key ${JSON.stringify(key)} (keys: ${[...paid.keys()].join(', ') || 'none'})`,
      });
  };
  s.steps.forEach((step, i) => {
    const pay = step['pay'] as { key: string; originalKey?: string } | undefined;
    if (pay) {
      if (pay.originalKey !== undefined) known(pay.originalKey, `steps[${i}].pay.originalKey`, true);
      const earlier = paid.get(pay.key);
      if (earlier !== undefined)
        problems.push({
          path: `steps[${i}].pay.key`,
          message: `${JSON.stringify(pay.key)} is already used by steps[${earlier}]`,
        });
      else paid.set(pay.key, i);
    }
    for (const kind of ['partial', 'settle', 'cancel'] as const) {
      const ref = step[kind] as { key: string } | undefined;
      if (ref) known(ref.key, `steps[${i}].${kind}.key`, true);
    }
  });
  s.expect.forEach((e, i) => known(e.key, `expect[${i}].key`, false));
  return problems;
}

/**
 * Validates a parsed scenario; throws `ScenarioValidationError` naming `source`, every JSON path and
 * what was expected there.
 */
export function validateScenario(raw: unknown, source: string): void {
  const validate = validator();
  if (!validate(raw)) throw new ScenarioValidationError(source, collapse(validate.errors ?? []));
  const problems = references(raw as Parameters<typeof references>[0]);
  if (problems.length) throw new ScenarioValidationError(source, problems);
}
