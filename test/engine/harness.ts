import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FingerprintKey } from '../../src/card/index.js';
import { Sealer } from '../../src/crypto/index.js';
import {
  Engine,
  type EngineConfig,
  type EngineDeps,
  type EngineEvent,
  type SafConfig,
} from '../../src/engine/index.js';
import { HostLink } from '../../src/host/index.js';
import { loadDialect } from '../../src/iso8583/index.js';
import { Journal } from '../../src/journal/index.js';
import {
  startHostSimulator,
  type HostSimulator,
  type HostSimulatorOptions,
} from '../../simulators/host/index.js';
import type { IntegratedTerminal } from '../../src/terminal/integrated.js';
import { InstantReader } from '../../simulators/shared/instant-reader.js';

export interface Harness {
  dir: string;
  sim: HostSimulator;
  link: HostLink;
  reader: InstantReader;
  journal: Journal;
  engine: Engine;
  events: EngineEvent[];
  close(): Promise<void>;
}

export const TID = 'POSB0001';
export const MID = '898310048160001';

export async function harness(
  options: {
    config?: Partial<Omit<EngineConfig, 'saf'>> & { saf?: Partial<SafConfig> };
    sim?: HostSimulatorOptions;
    dir?: string;
    responseMs?: number;
    /** A reader of the test's own (e.g. one whose card prompt it controls). */
    reader?: InstantReader;
    /** An integrated terminal (ZVT) that takes every payment. */
    integrated?: IntegratedTerminal;
    /** Scan-to-pay providers and their timers. */
    qr?: EngineDeps['qr'];
    qrTimers?: EngineDeps['qrTimers'];
  } = {},
): Promise<Harness> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'pb-engine-'));
  const sim = await startHostSimulator({ controlPort: null, ...options.sim });
  const reader = options.reader ?? new InstantReader();
  const dialect = loadDialect('cup-pos');
  const journal = Journal.open({ dir, sealer: await Sealer.load(dir) });
  const link = new HostLink({
    host: '127.0.0.1',
    port: sim.isoPort,
    dialect,
    terminalId: TID,
    merchantId: MID,
    securityModule: reader.securityModule,
    keyLayout: 'double',
    counters: journal,
    timers: {
      connectMs: 2000,
      responseMs: options.responseMs ?? 1500,
      writeMs: 1000,
      idleEchoMs: 0,
      backoffInitialMs: 20,
      backoffMaxMs: 200,
      lateWindowMs: 60_000,
    },
  });
  link.start();
  await link.whenReady(3000);
  const engine = new Engine({
    journal,
    host: link,
    reader,
    ...(options.integrated ? { integrated: options.integrated } : {}),
    ...(options.qr ? { qr: options.qr } : {}),
    ...(options.qrTimers ? { qrTimers: options.qrTimers } : {}),
    dialect,
    fingerprintKey: FingerprintKey.generate(),
    config: {
      terminalId: TID,
      merchantId: MID,
      ...options.config,
      saf: {
        backoffInitialMs: 20,
        backoffMaxMs: 100,
        pollMs: 50,
        maxAttempts: 5,
        reversalDoneCodes: ['00', '25'],
        reversalFatalCodes: ['12'],
        ...options.config?.saf,
      },
    },
  });
  const events: EngineEvent[] = [];
  engine.on('event', (e: EngineEvent) => events.push(e));
  return {
    dir,
    sim,
    link,
    reader,
    journal,
    engine,
    events,
    async close() {
      await engine.stop();
      await link.close();
      journal.close();
      await sim.close();
    },
  };
}
