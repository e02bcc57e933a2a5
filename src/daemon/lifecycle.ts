/**
 * What `posbridge start` and the demo say while they stop: on the first SIGINT/SIGTERM what is being
 * waited for (each operation in flight), then a closing line; on a second signal a warning naming each
 * operation left open, and a non-zero exit. Start-up recovery's result gets its own line too.
 */
import type { Logger } from 'pino';
import { alphaCurrency } from '../api/mapping.js';
import type { OperationView } from '../engine/index.js';
import { recoverySummary, type RecoveryResult } from './daemon.js';
import { EXIT } from './failures.js';

/** Currencies without minor units; every other one prints with two decimals. */
const NO_DECIMALS = new Set(['JPY', 'KRW']);

/** 60000 in CNY → "600.00 CNY". */
export function formatAmount(minor: number, currency: string): string {
  const alpha = alphaCurrency(currency);
  if (NO_DECIMALS.has(alpha)) return `${minor} ${alpha}`;
  const sign = minor < 0 ? '-' : '';
  const abs = Math.abs(minor);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')} ${alpha}`;
}

/** "<id> sale awaiting_card 600.00 CNY" */
export function describeOperation(
  op: Pick<OperationView, 'id' | 'kind' | 'state' | 'amount' | 'currency'>,
): string {
  return `${op.id} ${op.kind} ${op.state} ${formatAmount(op.amount, op.currency)}`;
}

export function recoveryLine(r: RecoveryResult | undefined): string {
  return r
    ? `start-up recovery: ${recoverySummary(r)}`
    : 'start-up recovery: did not finish (see the log); it runs again at the next start';
}

export type Signal = 'SIGINT' | 'SIGTERM';

/** SIGINT and SIGTERM, counted from the moment this is called: the first stops, the second forces. */
export interface SignalWatch {
  first: Promise<Signal>;
  second: Promise<Signal>;
  dispose(): void;
}

export function watchSignals(signals: NodeJS.EventEmitter = process): SignalWatch {
  let count = 0;
  let first!: (s: Signal) => void;
  let second!: (s: Signal) => void;
  const w = {
    first: new Promise<Signal>((r) => (first = r)),
    second: new Promise<Signal>((r) => (second = r)),
    dispose(): void {
      signals.off('SIGINT', onInt);
      signals.off('SIGTERM', onTerm);
    },
  };
  const on = (sig: Signal): void => {
    count++;
    if (count === 1) first(sig);
    else if (count === 2) second(sig);
  };
  const onInt = (): void => on('SIGINT');
  const onTerm = (): void => on('SIGTERM');
  signals.on('SIGINT', onInt);
  signals.on('SIGTERM', onTerm);
  return w;
}

export interface StopOptions {
  /** The operations whose flow runs now (`engine.inFlight()`). */
  inFlight: () => OperationView[];
  /** Stops everything (the daemon, then whatever the composition owns). */
  stop: () => Promise<void>;
  /** Writes one human line. */
  say: (line: string) => void;
  logger?: Logger;
  /** How often to repeat what is still waited for (default 5 s). */
  progressMs?: number;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

const brief = (ops: OperationView[]): Record<string, unknown>[] =>
  ops.map((op) => ({ id: op.id, kind: op.kind, state: op.state, amount: op.amount, currency: op.currency }));

/**
 * Runs the stop after the first signal, saying what it waits for, and returns the exit code: 0 after a
 * clean stop, 1 when a second signal cut it short (or the stop failed). The caller exits with it.
 */
export async function stopOnSignal(watch: SignalWatch, o: StopOptions): Promise<number> {
  const first = await watch.first;
  const t0 = Date.now();
  const safeInFlight = (fallback: OperationView[]): OperationView[] => {
    try {
      return o.inFlight();
    } catch {
      return fallback; // the journal is already closed: nothing ran any more by then
    }
  };
  const waiting = safeInFlight([]);
  if (waiting.length) {
    o.say(
      `stopping (${first}): no new payments; waiting for ${plural(waiting.length, 'operation')} in flight to finish ` +
        `(Ctrl-C again or a second SIGTERM stops at once; start-up recovery then resolves ${waiting.length === 1 ? 'it' : 'them'}):`,
    );
    for (const op of waiting) o.say(`  ${describeOperation(op)}`);
  } else o.say(`stopping (${first}): nothing in flight; closing the journal`);
  o.logger?.info(
    { signal: first, inFlight: brief(waiting) },
    'stopping: no new payments; finishing the ones in flight',
  );

  const progress = setInterval(() => {
    const still = safeInFlight([]);
    if (still.length)
      o.say(
        `still waiting (${((Date.now() - t0) / 1000).toFixed(0)} s) for: ${still.map(describeOperation).join('; ')}`,
      );
  }, o.progressMs ?? 5000);
  progress.unref();

  try {
    const outcome = await Promise.race([
      o.stop().then(
        () => ({ kind: 'stopped' as const }),
        (e: unknown) => ({ kind: 'failed' as const, error: e }),
      ),
      watch.second.then((sig) => ({ kind: 'forced' as const, sig })),
    ]);
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    if (outcome.kind === 'stopped') {
      o.say(
        waiting.length
          ? `stopped cleanly in ${secs} s (waited for ${plural(waiting.length, 'operation')})`
          : `stopped cleanly in ${secs} s`,
      );
      o.logger?.info({ ms: Date.now() - t0 }, 'stopped cleanly');
      return EXIT.ok;
    }
    if (outcome.kind === 'failed') {
      const msg = outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
      o.say(
        `stop failed after ${secs} s: ${msg}: start-up recovery resolves anything left open at the next start`,
      );
      o.logger?.error({ err: outcome.error }, 'stop failed');
      return EXIT.problem;
    }
    const left = safeInFlight(waiting);
    if (left.length) {
      o.say(
        `warning: stopped at once (second ${outcome.sig}) with ${plural(left.length, 'operation')} left open; ` +
          `start-up recovery resolves ${left.length === 1 ? 'it' : 'them'} at the next start:`,
      );
      for (const op of left) o.say(`  ${describeOperation(op)}`);
    } else o.say(`warning: stopped at once (second ${outcome.sig}) after ${secs} s; nothing was left open`);
    o.logger?.warn(
      { signal: outcome.sig, leftOpen: brief(left) },
      'stopped at once: operations left open for start-up recovery',
    );
    o.logger?.flush?.();
    return EXIT.problem;
  } finally {
    clearInterval(progress);
  }
}
