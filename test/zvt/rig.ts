/**
 * Test rig: the ZVT simulator and a `ZvtTerminal` connected over TCP or over a real pseudo-terminal
 * (node-pty's open(): the simulator talks through the master, the client opens the slave path with the
 * real serialport bindings). Timers are short so faults resolve fast.
 */
import { createRequire } from 'node:module';
import { Writable, type Duplex } from 'node:stream';
import { pino } from 'pino';
import { cardLogOptions } from '../../src/card/index.js';
import type { IntegratedProgressEvent, IntegratedStateEvent } from '../../src/terminal/integrated.js';
import {
  ZvtTerminal,
  serialTransport,
  type ZvtTerminalOptions,
  type ZvtTimers,
} from '../../src/terminal/zvt/index.js';
import {
  startZvtSimulator,
  type StartZvtSimulatorOptions,
  type ZvtSimulatorHandle,
} from '../../simulators/zvt/index.js';

export const PASSWORD = '123456';

export const TEST_TIMERS: Partial<ZvtTimers> = {
  t3Ms: 600,
  t4Ms: 1500,
  t1Ms: 200,
  t2Ms: 300,
  retries: 2,
  connectMs: 3000,
  backoffInitialMs: 30,
  backoffMaxMs: 200,
};

export interface ZvtRig {
  sim: ZvtSimulatorHandle;
  term: ZvtTerminal;
  states: IntegratedStateEvent[];
  progress: IntegratedProgressEvent[];
  logs: string[];
  close(): Promise<void>;
}

export interface ZvtRigOptions {
  sim?: Partial<StartZvtSimulatorOptions>;
  client?: Partial<Omit<ZvtTerminalOptions, 'tcp' | 'serial' | 'transport'>>;
  timers?: Partial<ZvtTimers>;
  /** Wait until registered (default true). */
  ready?: boolean;
}

interface PtyPair {
  ptsName: string;
  master: Duplex;
  slave: Duplex;
}

export function openPty(): PtyPair {
  const require = createRequire(import.meta.url);
  const pty = require('@lydell/node-pty') as { open(o: { encoding: null }): PtyPair };
  const t = pty.open({ encoding: null });
  t.slave.pause();
  return t;
}

export async function makeZvtRig(kind: 'tcp' | 'serial', options: ZvtRigOptions = {}): Promise<ZvtRig> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(chunk.toString('utf8'));
      cb();
    },
  });
  const logger = pino({ ...cardLogOptions(), level: 'debug' }, sink);
  let pty: PtyPair | undefined;
  let sim: ZvtSimulatorHandle;
  if (kind === 'tcp') {
    sim = await startZvtSimulator({
      tcp: { port: 0 },
      control: false,
      logger,
      ackTimeoutMs: 800,
      ...options.sim,
    });
  } else {
    pty = openPty();
    sim = await startZvtSimulator({
      stream: pty.master,
      control: false,
      logger,
      ackTimeoutMs: 800,
      serialTimers: { t2Ms: 300, t1Ms: 200 },
      ...options.sim,
    });
  }
  const timers = { ...TEST_TIMERS, ...options.timers };
  let endpoint: Pick<ZvtTerminalOptions, 'tcp' | 'transport' | 'framing'>;
  if (kind === 'tcp') endpoint = { tcp: { host: '127.0.0.1', port: sim.port! } };
  else {
    // The real serialport bindings on the slave path; node-pty's own reader of the slave goes once it is open.
    const transport = serialTransport({ path: pty!.ptsName, unplugPollMs: 0 });
    transport.on('open', () => {
      if (!pty!.slave.destroyed) pty!.slave.destroy();
    });
    endpoint = { transport, framing: 'serial' };
  }
  const term = new ZvtTerminal({
    ...endpoint,
    password: PASSWORD,
    timers,
    logger,
    ...options.client,
  });
  const states: IntegratedStateEvent[] = [];
  const progress: IntegratedProgressEvent[] = [];
  term.on('state', (e: IntegratedStateEvent) => states.push(e));
  term.on('progress', (e: IntegratedProgressEvent) => progress.push(e));
  term.start();
  if (options.ready !== false) await term.whenReady(4000);
  return {
    sim,
    term,
    states,
    progress,
    logs,
    async close() {
      await term.close();
      await sim.close();
      if (pty) {
        if (!pty.slave.destroyed) pty.slave.destroy();
        pty.master.destroy();
      }
    },
  };
}

export async function until(
  pred: () => boolean | Promise<boolean>,
  ms = 3000,
  what = 'condition',
): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const EUR = '978';
