/**
 * The scan-to-pay lane of the chaos run (issue 20): the Alipay + WeChat Pay gateway simulator in its own
 * process (its ledgers survive the daemon's kills), the engine runner composed with it (`--qr-url`,
 * `--qr-keys-dir`: the daemon's own `qr` configuration, a scan-to-pay-only desk) as a child SIGKILLed at
 * random moments and restarted on the same state directory, and between the simulator and the runner a
 * CRM backend's notification forwarder (simulators/qr/forwarder.ts) passing notifications to the daemon's
 * POST /qr/notify/*. Payments run several at a time: both providers, merchant QR and payment code, the
 * customer paying at once, late, after USERPAYING, giving up, never; the QR expiring; the operator
 * cancelling at random moments; partial refunds; and at random the simulator's faults: lost answers,
 * system errors, badly signed answers and notifications, duplicate notifications, failing partial refunds.
 *
 * Afterwards (calm, one more restart): every operation final, and the journal agrees with the providers'
 * ledgers: nothing lost (a provider holds money, or made a refund, the journal does not hold as completed),
 * nothing doubled (two operations, or two trades, for one key; one order paid twice), no cancelled
 * payment completed, no runner crash or unexpected flow failure, no payment code at rest or in the log.
 */
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { outTradeNoOf } from '../../src/engine/qr-flow.js';
import { freshSimCli, httpJson, sleep, startSim, type Proc } from '../../simulators/processes.js';
import { startQrForwarder } from '../../simulators/qr/forwarder.js';
import { int, pick, prng } from '../support/prng.js';
import { stopProcesses } from './chaos-run.js';

/** The runner's terminal id (simulators/engine-runner.ts): the provider order numbers derive from it. */
const TERMINAL_ID = 'CHAOS001';
const FINAL = ['completed', 'declined', 'reversed', 'cancelled', 'failed', 'needs_attention'];

export interface QrChaosOptions {
  payments: number;
  kills: number;
  seed: number;
  /** Payments in flight at once (default 4). */
  concurrency?: number;
  /** Share of payments with a simulator fault set before them (default 0.4). */
  faultShare?: number;
  /** Share of completed payments refunded in part (default 0.35). */
  refundShare?: number;
  /** Engine timers: QR poll, QR expiry, payment-code paying timeout (defaults 300 ms, 3 s, 2.5 s). */
  pollMs?: number;
  expirySeconds?: number;
  payingTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface QrChaosReport {
  seed: number;
  payments: number;
  kills: number;
  cancels: number;
  refunds: number;
  scenarios: Record<string, number>;
  faults: Record<string, number>;
  states: Record<string, number>;
  /** `<kind> <state> <reason>` → count */
  reasons: Record<string, number>;
  /** Trades the providers hold as paid at the end. */
  providerPaid: number;
  notifications: {
    sent: number;
    delivered: number;
    badlySigned: number;
    /** The daemon's answers through the forwarder: resolving / already_final / unknown_trade / 400 / 502 */
    forwarded: Record<string, number>;
  };
  problems: string[];
  seconds: number;
  dir: string;
}

// ------------------------------------------------------------------------------------- ledger check

/** An operation as the runner lists it (the parts the ledger check reads). */
export interface QrOpView {
  id: string;
  kind: string;
  state: string;
  reason: string | null;
  amount: number;
  approvedAmount: number | null;
  originalId: string | null;
  orderId: string | null;
  cancelRequested?: boolean;
  result: { qr?: { method: 'alipay' | 'wechat'; outTradeNo: string; outRequestNo?: string } } | null;
}

/** A provider trade in the simulator's ledger. */
export interface QrLedgerTrade {
  provider: 'alipay' | 'wechat';
  outTradeNo: string;
  amount: number;
  /** created | waiting | paying | paid | closed | payerror | reversed */
  status: string;
  refunded: number;
}

/** A provider refund in the simulator's ledger. */
export interface QrLedgerRefund {
  provider: 'alipay' | 'wechat';
  outTradeNo: string;
  outRequestNo: string;
  amount: number;
  /** SUCCESS | PROCESSING | ABNORMAL | FAILED */
  status: string;
}

/**
 * Where the journal and the providers' ledgers disagree. A trade the provider holds as paid is money
 * taken: exactly one sale operation must hold it as completed (for that amount), else it is lost; a
 * completed sale must be paid at the provider (else the journal claims money nobody took). A trade or
 * refund number claimed by two operations, or a trade no operation (no key: `knownTradeNos`) names, is
 * doubled; an order with two completed sales is paid twice. Refunds: completed ⇔ SUCCESS at the provider,
 * same amount; a SUCCESS refund no completed operation holds is lost. An operation with a journaled
 * cancel never ends completed.
 */
export function qrLedgerProblems(
  operations: readonly QrOpView[],
  trades: readonly QrLedgerTrade[],
  refunds: readonly QrLedgerRefund[],
  knownTradeNos?: ReadonlySet<string>,
): string[] {
  const problems: string[] = [];
  const tradeKey = (p: string, no: string): string => `${p}:${no}`;
  const tradeOf = new Map(trades.map((t) => [tradeKey(t.provider, t.outTradeNo), t]));
  const refundOf = new Map(refunds.map((r) => [`${r.provider}:${r.outTradeNo}:${r.outRequestNo}`, r]));
  const salesOf = new Map<string, QrOpView[]>();
  const refundOps = new Map<string, QrOpView[]>();
  for (const op of operations) {
    const q = op.result?.qr;
    if (op.cancelRequested && op.state === 'completed' && op.kind === 'sale')
      problems.push(`sale ${op.id} was cancelled by the operator but ended completed`);
    if (!q) {
      if (op.state === 'completed') problems.push(`completed ${op.kind} ${op.id} names no provider trade`);
      continue;
    }
    const k = tradeKey(q.method, q.outTradeNo);
    if (op.kind === 'sale') salesOf.set(k, [...(salesOf.get(k) ?? []), op]);
    else if (op.kind === 'refund' && q.outRequestNo) {
      const rk = `${k}:${q.outRequestNo}`;
      refundOps.set(rk, [...(refundOps.get(rk) ?? []), op]);
    }
  }
  // Sales against trades.
  for (const [k, ops] of salesOf) {
    if (ops.length > 1)
      problems.push(`trade ${k} is claimed by ${ops.map((o) => o.id).join(' and ')}: doubled`);
    const t = tradeOf.get(k);
    for (const op of ops) {
      const paid = t?.status === 'paid';
      if (op.state === 'completed' && !t)
        problems.push(`completed sale ${op.id} (${k}): the provider has no such trade`);
      else if (op.state === 'completed' && !paid)
        problems.push(`completed sale ${op.id} (${k}) is ${t!.status} at the provider: nothing was taken`);
      else if (op.state !== 'completed' && paid)
        problems.push(
          `lost: the provider holds ${k} paid (${t!.amount}) but the journal says ${op.state} (${op.reason ?? '-'})`,
        );
      if (t && t.amount !== op.amount && t.amount !== 0)
        problems.push(`sale ${op.id} for ${op.amount} names trade ${k} of ${t.amount}`);
      if (op.state === 'completed' && t && (op.approvedAmount ?? op.amount) !== t.amount)
        problems.push(`completed sale ${op.id} approved ${op.approvedAmount} of a trade of ${t.amount}`);
    }
  }
  for (const t of trades) {
    const k = tradeKey(t.provider, t.outTradeNo);
    if (knownTradeNos && !knownTradeNos.has(t.outTradeNo))
      problems.push(`provider trade ${k} (${t.status}) is named by no idempotency key: doubled`);
    else if (t.status === 'paid' && !salesOf.has(k))
      problems.push(`lost: the provider holds ${k} paid (${t.amount}) and no operation knows it`);
  }
  // One order, one payment.
  const paidOrders = new Map<string, string[]>();
  for (const op of operations)
    if (op.kind === 'sale' && op.state === 'completed' && op.orderId)
      paidOrders.set(op.orderId, [...(paidOrders.get(op.orderId) ?? []), op.id]);
  for (const [order, ids] of paidOrders)
    if (ids.length > 1) problems.push(`order ${order} was paid twice: ${ids.join(', ')}`);
  // Refunds against the providers' refunds.
  for (const [rk, ops] of refundOps) {
    if (ops.length > 1)
      problems.push(`refund ${rk} is claimed by ${ops.map((o) => o.id).join(' and ')}: doubled`);
    const r = refundOf.get(rk);
    for (const op of ops) {
      const done = r?.status === 'SUCCESS';
      if (op.state === 'completed' && !done)
        problems.push(`completed refund ${op.id} (${rk}) is ${r?.status ?? 'unknown'} at the provider`);
      else if (op.state !== 'completed' && done)
        problems.push(
          `lost refund: the provider refunded ${rk} (${r!.amount}) but the journal says ${op.state} (${op.reason ?? '-'})`,
        );
      if (r && r.amount !== op.amount)
        problems.push(`refund ${op.id} for ${op.amount} names ${rk} of ${r.amount}`);
    }
  }
  for (const r of refunds) {
    const rk = `${r.provider}:${r.outTradeNo}:${r.outRequestNo}`;
    if (r.status === 'SUCCESS' && !refundOps.has(rk))
      problems.push(`lost refund: the provider refunded ${rk} (${r.amount}) and no operation knows it`);
  }
  return problems;
}

// ------------------------------------------------------------------------------------------ the run

interface RunnerList {
  operations: QrOpView[];
  open: number;
}

const QR_SCENARIOS: [string, number][] = [
  ['pay', 30],
  ['pay_late', 8],
  ['userpaying_then_pay', 10],
  ['abandon', 8],
  ['expire', 8],
  ['never', 8],
  ['operator_cancel', 14],
  ['pay_and_cancel', 6],
];
const CODE_SCENARIOS: [string, number][] = [
  ['instant', 30],
  ['userpaying', 18],
  ['userpaying_never', 8],
  ['customer_cancels', 10],
  ['insufficient', 8],
  ['invalid', 5],
  ['operator_cancel', 14],
];

function weighted(rand: () => number, items: readonly [string, number][]): string {
  const total = items.reduce((s, [, w]) => s + w, 0);
  let x = rand() * total;
  for (const [name, w] of items) {
    x -= w;
    if (x < 0) return name;
  }
  return items[items.length - 1]![0];
}

/** The gateway APIs a payment of this provider and mode goes through (faults are aimed at them). */
const APIS = {
  alipay: {
    qr: ['alipay.trade.precreate', 'alipay.trade.query', 'alipay.trade.close', 'alipay.trade.cancel'],
    code: ['alipay.trade.pay', 'alipay.trade.query', 'alipay.trade.cancel'],
    refund: ['alipay.trade.refund', 'alipay.trade.fastpay.refund.query'],
  },
  wechat: {
    qr: ['wechat.native', 'wechat.query', 'wechat.close'],
    code: ['wechat.micropay', 'wechat.query', 'wechat.reverse'],
    refund: ['wechat.refund', 'wechat.refund.query'],
  },
} as const;

const CALM = {
  systemError: 0,
  loseAnswer: 0,
  badSignature: 0,
  duplicateNotification: false,
  refundPartiallyFails: false,
  userPayingMs: 0,
};

/** A payment code of the provider's format; `suffix` 0051 (no funds) or 0014 (invalid) makes it fail. */
function paymentCode(rand: () => number, method: 'alipay' | 'wechat', suffix?: string): string {
  let digits = String(method === 'alipay' ? int(rand, 25, 30) : int(rand, 10, 15));
  while (digits.length < 18) digits += String(int(rand, 0, 9));
  if (suffix) return digits.slice(0, 14) + suffix;
  // Not one of the failing endings by chance.
  return /(0051|0014)$/.test(digits) ? `${digits.slice(0, 17)}7` : digits;
}

export async function qrChaosRun(o: QrChaosOptions): Promise<QrChaosReport> {
  const t0 = Date.now();
  const rand = prng(o.seed);
  const log = o.log ?? (() => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'pb-chaos-qr-'));
  const stateDir = join(dir, 'state');
  const keysDir = join(dir, 'qr-keys');
  mkdirSync(stateDir);
  const logs = {
    qr: createWriteStream(join(dir, 'qr.log')),
    engine: createWriteStream(join(dir, 'engine.log')),
  };
  const cli = freshSimCli();
  const problems: string[] = [];
  const scenarios: Record<string, number> = {};
  const faults: Record<string, number> = {};
  const count = (m: Record<string, number>, k: string): void => {
    m[k] = (m[k] ?? 0) + 1;
  };
  let up = false;
  let port = 0;
  let token = '';
  const fwd = await startQrForwarder(() =>
    up && token ? { url: `http://127.0.0.1:${port}`, token } : undefined,
  );
  let sim: Proc | undefined;
  let engine: Proc | undefined;
  let kills = 0;
  let cancels = 0;
  let refunds = 0;
  const keys = new Map<string, string>(); // idempotency key → operation id
  const codes: string[] = [];
  try {
    sim = await startSim(
      ['qr', '--port', '0', '--control-port', '0', '--keys-dir', keysDir, '--notify-url', fwd.url],
      logs.qr,
      cli,
    );
    const simUrl = `http://127.0.0.1:${Number(sim.ready['http'])}`;
    const simCtl = Number(sim.ready['control']);
    const engineArgs = [
      'engine',
      '--dir',
      stateDir,
      '--qr-url',
      simUrl,
      '--qr-keys-dir',
      keysDir,
      '--qr-notify-url',
      fwd.url,
      '--qr-poll-ms',
      String(o.pollMs ?? 300),
      '--qr-expiry-seconds',
      String(o.expirySeconds ?? 3),
      '--qr-paying-timeout-ms',
      String(o.payingTimeoutMs ?? 2500),
    ];
    /** The runner must only ever exit because this run killed it. */
    const watch = (p: Proc): void => {
      p.child.once('exit', (code, signal) => {
        if (signal !== 'SIGKILL') problems.push(`the engine runner exited by itself (${code ?? signal})`);
      });
    };
    const startEngine = async (): Promise<void> => {
      engine = await startSim(engineArgs, logs.engine, cli);
      watch(engine);
      port = Number(engine.ready['http']);
      token ||= readFileSync(join(stateDir, 'token'), 'utf8').trim();
      up = true;
    };
    const restart = async (): Promise<void> => {
      up = false;
      const dying = engine!;
      const gone = new Promise((r) => dying.child.once('exit', r));
      dying.child.kill('SIGKILL');
      await gone;
      kills++;
      await startEngine();
    };
    await startEngine();

    const behave = async (b: Record<string, unknown>): Promise<void> => {
      const r = await httpJson(simCtl, 'POST', '/behaviour', b);
      if (r.status !== 200)
        problems.push(`the QR simulator refused ${JSON.stringify(b)}: ${JSON.stringify(r.json)}`);
    };
    const scan = (outTradeNo: string, provider: string, action: string): Promise<unknown> =>
      httpJson(simCtl, 'POST', '/scan', { outTradeNo, provider, action }).catch(() => undefined);

    /** A call to the runner, repeated while it is being restarted (every call here is idempotent). */
    const runner = async (method: string, path: string, body?: unknown): Promise<unknown> => {
      for (let a = 0; ; a++) {
        if (up) {
          try {
            return (await httpJson(port, method, path, body)).json;
          } catch (e) {
            if (a > 400) throw e;
          }
        } else if (a > 400) throw new Error(`runner down: ${method} ${path}`);
        await sleep(50);
      }
    };
    const submit = async (req: Record<string, unknown>): Promise<string | undefined> => {
      const key = String(req['idempotencyKey']);
      const v = (await runner('POST', '/control/operations', req)) as {
        id?: string;
        error?: { code: string };
      };
      if (!v.id) {
        problems.push(`submit ${key}: ${JSON.stringify(v)}`);
        return undefined;
      }
      const before = keys.get(key);
      if (before && before !== v.id) problems.push(`key ${key} made two operations`);
      keys.set(key, v.id);
      return v.id;
    };
    const stateOf = async (id: string): Promise<QrOpView> =>
      (await runner('GET', `/control/operations/${id}`)) as QrOpView;
    const settle = async (id: string, ms: number): Promise<QrOpView> => {
      const end = Date.now() + ms;
      let v = await stateOf(id);
      while (!FINAL.includes(v.state) && Date.now() < end) {
        await sleep(60);
        v = await stateOf(id);
      }
      return v;
    };

    const payment = async (i: number): Promise<void> => {
      const r = prng((o.seed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0);
      const method = r() < 0.5 ? 'alipay' : 'wechat';
      const mode = r() < 0.5 ? 'qr' : 'code';
      const scenario = weighted(r, mode === 'qr' ? QR_SCENARIOS : CODE_SCENARIOS);
      count(scenarios, `${method} ${mode} ${scenario}`);
      const key = `qr-chaos-${o.seed}-${i}`;
      const no = outTradeNoOf(TERMINAL_ID, key);
      const amount = int(r, 1, 5_000) * 10 + int(r, 0, 9);
      let authCode: string | undefined;
      if (mode === 'code') {
        authCode = paymentCode(
          r,
          method,
          scenario === 'insufficient' ? '0051' : scenario === 'invalid' ? '0014' : undefined,
        );
        codes.push(authCode);
        const userPayingMs =
          scenario === 'userpaying'
            ? int(r, 200, 1500)
            : scenario === 'userpaying_never'
              ? 20_000
              : scenario === 'customer_cancels'
                ? 5_000
                : 0;
        await behave({ userPayingMs });
      }
      const sale = {
        kind: 'sale',
        idempotencyKey: key,
        amount,
        orderId: `QR-ORDER-${o.seed}-${i}`,
        method,
        ...(authCode ? { authCode } : {}),
      };
      const id = await submit(sale);
      if (!id) return;
      // The customer and the operator, at random moments.
      const acts: Promise<unknown>[] = [];
      const later = (ms: number, f: () => Promise<unknown>): void => {
        acts.push(sleep(ms).then(f));
      };
      const cancel = async (): Promise<void> => {
        const res = (await runner('POST', `/control/cancel/${id}`).catch(() => undefined)) as
          { error?: { code: string } } | undefined;
        const err = res?.error;
        if (err && !['already_completed', 'wrong_state'].includes(err.code))
          problems.push(`cancel ${key}: ${JSON.stringify(err)}`);
        cancels++;
      };
      switch (scenario) {
        case 'pay':
          later(int(r, 50, 1200), () => scan(no, method, 'pay'));
          break;
        case 'pay_late':
          later(int(r, 1500, 4000), () => scan(no, method, 'pay'));
          break;
        case 'userpaying_then_pay':
          later(int(r, 50, 1000), () => scan(no, method, 'userpaying_then_pay'));
          break;
        case 'abandon':
          later(int(r, 50, 1000), () => scan(no, method, 'cancel'));
          break;
        case 'expire':
          later(int(r, 100, 1500), () => scan(no, method, 'expire'));
          break;
        case 'customer_cancels':
          later(int(r, 100, 900), () => scan(no, method, 'cancel'));
          break;
        case 'operator_cancel':
          later(int(r, 0, 1500), cancel);
          if (mode === 'qr' && r() < 0.5) later(int(r, 0, 1500), () => scan(no, method, 'pay'));
          break;
        case 'pay_and_cancel': {
          const at = int(r, 100, 1200);
          later(at, () => scan(no, method, 'pay'));
          later(at + int(r, 0, 30), cancel);
          break;
        }
        default:
          break; // instant, userpaying, userpaying_never, insufficient, invalid, never
      }
      // Now and then the CRM retries the same sale (after a kill, a lost answer): never a second one.
      if (r() < 0.2) later(int(r, 0, 2000), () => submit(sale));
      await Promise.all(acts);
      const v = await settle(id, 15_000);
      if (v.state !== 'completed' || r() >= (o.refundShare ?? 0.35)) return;
      // Partial refunds (one or two), sometimes with the provider failing partial refunds.
      let left = v.approvedAmount ?? v.amount;
      const n = r() < 0.3 ? 2 : 1;
      for (let j = 0; j < n && left > 1; j++) {
        const part = int(r, 1, left - 1);
        if (r() < 0.25) {
          count(faults, 'refundPartiallyFails');
          await behave({ refundPartiallyFails: true });
        }
        if (r() < 0.3) {
          const api = pick(r, APIS[method].refund);
          const kind = pick(r, ['systemError', 'loseAnswer', 'badSignature'] as const);
          count(faults, `${kind} ${api}`);
          await behave({ [kind]: { count: 1, only: [api] } });
        }
        const rid = await submit({
          kind: 'refund',
          idempotencyKey: `${key}-r${j}`,
          originalId: id,
          amount: part,
        });
        refunds++;
        if (!rid) return;
        const rv = await settle(rid, 15_000);
        await behave({ refundPartiallyFails: false });
        if (rv.state === 'completed') left -= part;
        // Still open: its amount stays reserved (the engine would refuse a second refund beyond it).
        else if (!FINAL.includes(rv.state)) return;
      }
    };

    const concurrency = o.concurrency ?? 4;
    const killEvery = Math.max(1, Math.floor(o.payments / Math.max(1, o.kills)));
    const inflight = new Set<Promise<void>>();
    for (let i = 0; i < o.payments; i++) {
      while (inflight.size >= concurrency) await Promise.race(inflight);
      if (rand() < (o.faultShare ?? 0.4)) {
        const method = rand() < 0.5 ? 'alipay' : 'wechat';
        const f = rand();
        if (f < 0.15) {
          const on = rand() < 0.5;
          count(faults, `duplicateNotification ${on}`);
          await behave({ duplicateNotification: on });
        } else if (f < 0.3) {
          count(faults, `badSignature ${method}.notify`);
          await behave({ badSignature: { count: int(rand, 1, 3), only: [`${method}.notify`] } });
        } else {
          const api = pick(rand, [...APIS[method].qr, ...APIS[method].code]);
          const kind = pick(rand, ['systemError', 'loseAnswer', 'loseAnswer', 'badSignature'] as const);
          count(faults, `${kind} ${api}`);
          await behave({ [kind]: { count: int(rand, 1, 2), only: [api] } });
        }
      }
      const p: Promise<void> = payment(i)
        .catch((e: unknown) => {
          problems.push(`payment ${i}: ${(e as Error).message}`);
        })
        .finally(() => inflight.delete(p));
      inflight.add(p);
      await sleep(int(rand, 20, 250));
      if (kills < o.kills && (i % killEvery === killEvery - 1 || rand() < 0.03)) {
        await sleep(int(rand, 0, 600));
        await restart();
      }
      if (i % 20 === 0) log(`chaos qr: ${i}/${o.payments} payments, ${kills} kills`);
    }
    await Promise.all(inflight);

    // Calm: no faults (the ledgers stay), one more restart so recovery runs, then wait for all to end.
    await behave(CALM);
    await restart();
    let list: RunnerList = { operations: [], open: 1 };
    for (let w = 0; w < 600; w++) {
      list = (await runner('GET', '/control/operations')) as RunnerList;
      if (list.open === 0) break;
      await sleep(100);
    }
    const states: Record<string, number> = {};
    const reasons: Record<string, number> = {};
    for (const op of list.operations) {
      count(states, op.state);
      count(reasons, `${op.kind} ${op.state} ${op.reason ?? '-'}`);
      if (!FINAL.includes(op.state))
        problems.push(`${op.kind} ${op.id} still ${op.state} (${op.reason ?? '-'}) with the providers up`);
      if (op.state === 'needs_attention' && !op.reason)
        problems.push(`operation ${op.id} needs attention without a reason`);
    }
    if (list.operations.length !== keys.size)
      problems.push(`the journal has ${list.operations.length} operations for ${keys.size} keys`);

    const trades = (await httpJson(simCtl, 'GET', '/trades')).json as QrLedgerTrade[];
    const simRefunds = (await httpJson(simCtl, 'GET', '/refunds')).json as QrLedgerRefund[];
    const notes = (await httpJson(simCtl, 'GET', '/notifications')).json as {
      delivered: boolean;
      badSignature: boolean;
    }[];
    const known = new Set([...keys.keys()].map((k) => outTradeNoOf(TERMINAL_ID, k)));
    problems.push(...qrLedgerProblems(list.operations, trades, simRefunds, known));

    // The engine's log: no flow failed unexpectedly; no payment code in it or in the journal.
    up = false;
    engine?.child.kill('SIGKILL');
    await sleep(100);
    const engineLog = readFileSync(join(dir, 'engine.log'), 'utf8');
    for (const line of engineLog.split('\n'))
      if (line.includes('operation failed unexpectedly') || line.includes('"level":60'))
        problems.push(`engine log: ${line.slice(0, 300)}`);
    const files = [
      ...readdirSync(stateDir)
        .filter((f) => f.startsWith('journal.db'))
        .map((f) => join(stateDir, f)),
      join(dir, 'engine.log'),
    ];
    for (const f of files) {
      if (!existsSync(f)) continue;
      const bytes = readFileSync(f);
      for (const c of codes) if (bytes.includes(Buffer.from(c))) problems.push(`${f} holds a payment code`);
    }
    const forwarded: Record<string, number> = {};
    for (const rec of fwd.records) count(forwarded, rec.outcome ?? String(rec.status));
    return {
      seed: o.seed,
      payments: o.payments,
      kills,
      cancels,
      refunds,
      scenarios,
      faults,
      states,
      reasons,
      providerPaid: trades.filter((t) => t.status === 'paid').length,
      notifications: {
        sent: notes.length,
        delivered: notes.filter((n) => n.delivered).length,
        badlySigned: notes.filter((n) => n.badSignature).length,
        forwarded,
      },
      problems,
      seconds: Math.round((Date.now() - t0) / 1000),
      dir,
    };
  } finally {
    up = false;
    // The processes are SIGKILLed at once (before the forwarder closes); the logs end once their pipes have.
    const stopping = stopProcesses([engine, sim], Object.values(logs));
    await fwd.close();
    await stopping;
  }
}
