/**
 * The chaos run (issue 7's acceptance test): host and reader simulators in their own processes (the
 * host ledger persisted), the engine runner as a child process that is SIGKILLed at random moments and
 * restarted on the same state directory, many payments under random faults. Afterwards every operation
 * must be final, the journal and the host ledger must agree, no key may have charged twice, and no PAN
 * may be found in the database, its WAL or any log.
 */
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { httpJson, sleep, startSim } from '../../simulators/processes.js';
import { int, pick, prng } from '../support/prng.js';

export interface ChaosOptions {
  payments: number;
  kills: number;
  seed: number;
  /** Share of payments the operator cancels at a random moment (default 0.15). */
  cancelShare?: number;
  log?: (line: string) => void;
}
export interface ChaosReport {
  seed: number;
  payments: number;
  kills: number;
  /** Operator cancels made (accepted or answered already_completed). */
  cancels: number;
  states: Record<string, number>;
  hostApproved: number;
  problems: string[];
  dir: string;
}

const start = startSim;
const http = httpJson;

interface OpView {
  id: string;
  kind: string;
  state: string;
  reason: string | null;
  amount: number;
  voided: boolean;
  host: { stan: string | null; batch: string | null };
}

interface HostTx {
  tid: string;
  stan: string;
  batch: string;
  mti: string;
  type: string;
  responseCode: string;
  status: string;
  panMasked: string;
}

export async function chaosRun(o: ChaosOptions): Promise<ChaosReport> {
  const rand = prng(o.seed);
  const log = o.log ?? (() => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'pb-chaos-'));
  const stateDir = join(dir, 'state');
  mkdirSync(stateDir);
  const logs = {
    host: createWriteStream(join(dir, 'host.log')),
    reader: createWriteStream(join(dir, 'reader.log')),
    engine: createWriteStream(join(dir, 'engine.log')),
  };
  const host = await start(
    ['host', '--port', '0', '--control-port', '0', '--ledger', join(dir, 'ledger.json')],
    logs.host,
  );
  const reader = await start(['reader', '--tcp', '0', '--control-port', '0'], logs.reader);
  const hostCtl = Number(host.ready['control']);
  const readerCtl = Number(reader.ready['control']);
  const engineArgs = [
    'engine',
    '--dir',
    stateDir,
    '--host-port',
    String(host.ready['iso']),
    '--reader-port',
    String(reader.ready['tcp']),
    '--response-ms',
    '400',
  ];
  let engine = await start(engineArgs, logs.engine);
  let port = Number(engine.ready['http']);
  const problems: string[] = [];
  const keys = new Map<string, string>(); // idempotency key → operation id
  let kills = 0;
  let cancels = 0;
  /** Operations whose cancel the runner accepted: none may end completed. */
  const cancelled = new Set<string>();
  const killEvery = Math.max(1, Math.floor(o.payments / Math.max(1, o.kills)));

  const restart = async (): Promise<void> => {
    engine.child.kill('SIGKILL');
    await new Promise((r) => engine.child.once('exit', r));
    kills++;
    engine = await start(engineArgs, logs.engine);
    port = Number(engine.ready['http']);
  };

  const hostFaults = [
    { action: 'drop_response' },
    { action: 'delay', delayMs: 600 },
    { action: 'close_before_response' },
    { action: 'close_after_response' },
    { action: 'corrupt_mac' },
    { action: 'reversal_96', times: 2 },
  ];
  const readerFaults = [
    { dropLinkAt: 'before_card_read' },
    { dropLinkAt: 'after_card_read' },
    { dropLinkAt: 'after_host_approval' },
    { chipDeclines: true },
    { cardRemovedBeforeCompletion: true },
  ];

  try {
    for (let i = 0; i < o.payments; i++) {
      const r = rand();
      if (r < 0.25) {
        const f = pick(rand, hostFaults);
        await http(hostCtl, 'POST', '/faults', {
          ...f,
          times: 'times' in f ? f.times : 1,
          match: f.action === 'reversal_96' ? {} : { mti: '0200' },
        });
      } else if (r < 0.4) {
        await http(readerCtl, 'POST', '/behaviour', { ...DEFAULT_READER, ...pick(rand, readerFaults) });
      } else {
        await http(readerCtl, 'POST', '/behaviour', DEFAULT_READER);
      }
      const key = `chaos-${o.seed}-${i}`;
      const amount = int(rand, 1, 9_000) * 100 + (rand() < 0.05 ? 51 : 0);
      const submit = async (): Promise<void> => {
        const res = await http(port, 'POST', '/control/operations', {
          kind: 'sale',
          idempotencyKey: key,
          amount,
          orderId: `ORDER-${i % 50}`,
        });
        const body = res.json as { id?: string; error?: { code: string } };
        if (body.id) {
          const before = keys.get(key);
          if (before && before !== body.id) problems.push(`key ${key} made two operations`);
          keys.set(key, body.id);
        } else if (body.error?.code !== 'reader_busy') {
          problems.push(`submit ${key}: ${JSON.stringify(body)}`);
        }
      };
      try {
        await submit();
      } catch {
        // the runner may be restarting
      }
      // The operator cancels some payments at a random moment (before, during or after the host).
      let cancelling: Promise<void> | undefined;
      if (rand() < (o.cancelShare ?? 0.15)) {
        const delay = int(rand, 0, 400);
        cancelling = (async () => {
          await sleep(delay);
          const id = keys.get(key);
          if (!id) return;
          const res = await http(port, 'POST', `/control/cancel/${id}`).catch(() => undefined);
          if (!res) return;
          const err = (res.json as { error?: { code: string } }).error;
          if (err && err.code !== 'already_completed') problems.push(`cancel ${key}: ${JSON.stringify(err)}`);
          if (!err) cancelled.add(id);
          cancels++;
        })();
      }
      const killNow = kills < o.kills && (i % killEvery === killEvery - 1 || rand() < 0.02);
      if (killNow) {
        await sleep(int(rand, 0, 250));
        await restart();
        // The same key again after the restart: never a second charge.
        try {
          await submit();
        } catch {
          // ignore
        }
      } else {
        // Let the payment run; a few are left in flight on purpose.
        for (let w = 0; w < 60; w++) {
          const id = keys.get(key);
          if (!id) break;
          const v = (await http(port, 'GET', `/control/operations/${id}`)).json as OpView;
          if (!['awaiting_card', 'authorizing', 'created', 'approved', 'completing'].includes(v.state)) break;
          await sleep(25);
        }
      }
      await cancelling;
      if (i % 50 === 0) log(`chaos: ${i}/${o.payments} payments, ${kills} kills`);
    }
    // Calm: no faults; one more restart so recovery runs; wait for everything to settle.
    await http(hostCtl, 'DELETE', '/faults');
    await http(readerCtl, 'POST', '/behaviour', DEFAULT_READER);
    await restart();
    let view: { operations: OpView[]; saf: { lane: string; count: number }[]; open: number } = {
      operations: [],
      saf: [],
      open: 1,
    };
    for (let w = 0; w < 600; w++) {
      view = (await http(port, 'GET', '/control/operations')).json as typeof view;
      if (view.open === 0 && !view.saf.some((s) => s.lane === 'reversal' && s.count > 0)) break;
      await sleep(100);
    }
    const states: Record<string, number> = {};
    for (const op of view.operations) states[op.state] = (states[op.state] ?? 0) + 1;
    for (const op of view.operations) {
      if (!['completed', 'declined', 'reversed', 'cancelled', 'failed', 'needs_attention'].includes(op.state))
        problems.push(`operation ${op.id} still ${op.state}`);
      if (op.state === 'needs_attention' && !op.reason)
        problems.push(`operation ${op.id} needs attention without a reason`);
    }
    if (view.operations.length !== keys.size)
      problems.push(`journal has ${view.operations.length} operations for ${keys.size} keys`);

    // The journal and the host agree: completed here ⇔ approved, not reversed and not voided there.
    const txs = (await http(hostCtl, 'GET', '/transactions?tid=CHAOS001')).json as HostTx[];
    const sales = txs.filter((t) => t.mti === '0200' && t.type === 'sale');
    const held = new Map(
      sales
        .filter((t) => ['approved', 'partially_approved'].includes(t.status))
        .map((t) => [`${t.batch}:${t.stan}`, t]),
    );
    for (const op of view.operations) {
      const k = `${op.host.batch}:${op.host.stan}`;
      const atHost = held.get(k);
      if (op.state === 'completed' && !atHost)
        problems.push(`completed ${op.id} (stan ${op.host.stan}) is not held by the host`);
      if (op.state !== 'completed' && atHost)
        problems.push(`host holds stan ${op.host.stan} but the journal says ${op.state} (${op.reason})`);
      held.delete(k);
    }
    for (const [k] of held) problems.push(`host-only charge ${k}: lost transaction`);
    for (const op of view.operations)
      if (cancelled.has(op.id) && op.state === 'completed')
        problems.push(`operation ${op.id} was cancelled (accepted) but ended completed`);

    // No PAN anywhere at rest or in any log.
    const pans = ['6212345678000000010', '6225880000000019', '4111112222333347'];
    const files = [
      ...readdirSync(stateDir)
        .filter((f) => f.startsWith('journal.db'))
        .map((f) => join(stateDir, f)),
      join(dir, 'engine.log'),
      join(dir, 'host.log'),
      join(dir, 'reader.log'),
    ];
    for (const f of files) {
      if (!existsSync(f)) continue;
      const bytes = readFileSync(f);
      for (const pan of pans) {
        const forms = [
          Buffer.from(pan),
          Buffer.from(pan.length % 2 ? `${pan}0` : pan, 'hex'),
          Buffer.from(pan.length % 2 ? `${pan}F` : pan, 'hex'),
          Buffer.from(Buffer.from(pan).toString('hex')),
        ];
        if (forms.some((form) => bytes.includes(form))) problems.push(`${f} holds a PAN`);
      }
    }
    return {
      seed: o.seed,
      payments: o.payments,
      kills,
      cancels,
      states,
      hostApproved: sales.filter((t) => t.status === 'approved').length,
      problems,
      dir,
    };
  } finally {
    for (const p of [engine, host, reader]) p.child.kill('SIGKILL');
    for (const s of Object.values(logs)) s.end();
  }
}

const DEFAULT_READER = {
  card: 'cup-debit-chip',
  presentation: 'auto',
  customerCancels: false,
  wrongPin: false,
  cardRemovedBeforeCompletion: false,
  noCard: false,
  dropLinkAt: null,
  chipDeclines: false,
  cardDelayMs: 0,
  pinDigitDelayMs: 0,
  processingDelayMs: 0,
};
