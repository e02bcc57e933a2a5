/**
 * `posbridge-sim laptop`: one sales laptop of the fleet demo, as its own process (so the fleet can
 * SIGKILL it): a real daemon (journal, engine, host link) with a card reader simulator, enrolled with
 * the hub, taking card sales (and some partial refunds) at a steady pace. Prints
 * `{"ready":true,"laptop":"<tid>","ws":<port>}`.
 */
import { parseCommandArgs, UsageError } from '../../src/daemon/cli-args.js';
import { join } from 'node:path';
import pino, { type LoggerOptions } from 'pino';
import { cardLogOptions } from '../../src/card/index.js';
import { parseConfig } from '../../src/daemon/config.js';
import { createDaemon } from '../../src/daemon/daemon.js';
import { enrolWithHub, readHubCredential } from '../../src/daemon/hub-wiring.js';
import { ensureUsableStateDir } from '../../src/daemon/state-dir.js';
import { DEFAULT_SERIAL_NUMBER, startReaderSimulator } from '../reader/index.js';

const CARDS = ['cup-debit-chip', 'cup-credit-chip', 'visa-chip', 'mastercard-chip'];

export interface LaptopArgs {
  home: string;
  tid: string;
  hostPort: number;
  hub: string;
  code?: string;
  name?: string;
  /** Sales per minute (0: none). */
  rate: number;
  seed: number;
}

export const LAPTOP_USAGE =
  'usage: posbridge-sim laptop --home <dir> --tid <TID> --host-port <n> --hub <url> [--code <enrol code>] [--rate <sales/min>] [--seed <n>]\n' +
  'One laptop of the fleet (a daemon, its reader simulator, steady sales); posbridge-sim fleet starts them.\n';

export async function runLaptopCli(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs({
    args: argv,
    options: {
      home: { type: 'string' },
      tid: { type: 'string' },
      'host-port': { type: 'string' },
      hub: { type: 'string' },
      code: { type: 'string' },
      name: { type: 'string' },
      rate: { type: 'string', default: '30' },
      seed: { type: 'string', default: '1' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(LAPTOP_USAGE);
    return 0;
  }
  const { home, tid, hub } = values;
  const hostPort = values['host-port'];
  if (!home || !tid || !hostPort || !hub) {
    const given: [string, string | undefined][] = [
      ['--home', home],
      ['--tid', tid],
      ['--host-port', hostPort],
      ['--hub', hub],
    ];
    throw new UsageError(`needs ${given.flatMap(([flag, v]) => (v ? [] : [flag])).join(', ')}`);
  }
  await runLaptop({
    home,
    tid,
    hostPort: Number(hostPort),
    hub,
    ...(values.code ? { code: values.code } : {}),
    ...(values.name ? { name: values.name } : {}),
    rate: Number(values.rate),
    seed: Number(values.seed),
  });
  return 0;
}

/** A small deterministic generator (the fleet prints its seed). */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

export async function runLaptop(a: LaptopArgs): Promise<void> {
  ensureUsableStateDir(a.home);
  const logger = pino(
    { ...(cardLogOptions() as unknown as LoggerOptions), level: 'warn', base: { name: `laptop-${a.tid}` } },
    pino.destination({ fd: 2, sync: true }),
  );
  if (!readHubCredential(a.home)) {
    if (!a.code) throw new Error(`${a.home} is not enrolled and no --code was given`);
    await enrolWithHub({ url: a.hub, code: a.code, stateDir: a.home, terminalIds: [a.tid], name: a.name ?? `laptop ${a.tid}` });
  }
  const reader = await startReaderSimulator({ tcp: { port: 0 }, control: { port: 0 }, logger: logger.child({ sim: 'reader' }) });
  reader.setBehaviour({ card: 'cup-debit-chip', cardDelayMs: 20, pinDigitDelayMs: 2, processingDelayMs: 10 });
  const config = parseConfig(
    {
      port: 0,
      stateDir: a.home,
      terminalId: a.tid,
      merchantId: '898310048160001',
      allowedOrigins: [],
      defaultOperatorId: 'sales',
      logLevel: 'warn',
      keyStore: { kind: 'file', path: `${a.home}.kek` },
      host: { address: '127.0.0.1', port: a.hostPort },
      readers: [{ transport: 'tcp', host: '127.0.0.1', port: reader.port!, pairedSerials: [DEFAULT_SERIAL_NUMBER] }],
      timers: { hostResponseMs: 5_000, hostIdleEchoMs: 60_000 },
    },
    'laptop',
    {},
  );
  const daemon = await createDaemon({
    config,
    logger,
    hubLinkTimers: { pollMs: 300, healthMs: 5_000, backoffInitialMs: 300, backoffMaxMs: 3_000 },
  });
  const { port } = await daemon.start();
  await daemon.recovered();
  process.stdout.write(`${JSON.stringify({ ready: true, laptop: a.tid, ws: port, journal: join(a.home, 'journal.db') })}\n`);
  const rand = prng(a.seed);
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await daemon.stop();
    await reader.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
  if (a.rate <= 0) return;
  const gapMs = 60_000 / a.rate;
  let n = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, gapMs * (0.5 + rand())));
    if (stopping) return;
    n++;
    // Deposits on cars: ¥100.00 to ¥20,000.00 in fen (the test cards' balances last a long demo); now
    // and then a partial refund of a completed one.
    const engine = daemon.engine;
    try {
      if (rand() < 0.15) {
        const done = engine.recent(20).filter((p) => p.kind === 'sale' && p.state === 'completed' && p.refundedAmount === 0);
        const orig = done[Math.floor(rand() * done.length)];
        if (orig) {
          engine.submit({
            kind: 'refund',
            idempotencyKey: `${a.tid}-refund-${n}`,
            operatorId: 'sales',
            originalId: orig.id,
            amount: Math.max(1, Math.floor((orig.approvedAmount ?? orig.amount) * rand() * 0.5)),
          });
          continue;
        }
      }
      reader.setBehaviour({ card: CARDS[Math.floor(rand() * CARDS.length)]! });
      engine.submit({
        kind: 'sale',
        idempotencyKey: `${a.tid}-sale-${n}`,
        operatorId: 'sales',
        orderId: `CAR-${a.tid}-${n % 10_000}`,
        amount: 10_000 + Math.floor(rand() * 1_990_000),
      });
    } catch (e) {
      // Busy reader (the previous sale still runs) and the like: the next tick tries again.
      logger.debug({ err: (e as Error).message }, 'sale not started');
    }
  }
}
