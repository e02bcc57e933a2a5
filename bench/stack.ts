/**
 * The engine stack the benchmarks share: in-process host simulator, instant reader, journal, link, engine;
 * with `integrated`, the engine takes its payments through that terminal (ZVT) instead.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FingerprintKey } from '../src/card/index.js';
import { Sealer } from '../src/crypto/index.js';
import { Engine, type EngineDeps } from '../src/engine/index.js';
import { HostLink } from '../src/host/index.js';
import { loadDialect } from '../src/iso8583/index.js';
import { Journal } from '../src/journal/index.js';
import type { IntegratedTerminal } from '../src/terminal/integrated.js';
import { startHostSimulator, type HostSimulator } from '../simulators/host/index.js';
import { InstantReader } from '../simulators/shared/instant-reader.js';

export interface Stack {
  dir: string;
  sim: HostSimulator;
  reader: InstantReader;
  journal: Journal;
  link: HostLink;
  engine: Engine;
  close(): Promise<void>;
}

export async function startStack(options: {
  terminalId: string;
  synchronous?: 'FULL' | 'OFF';
  config?: Omit<EngineDeps['config'], 'terminalId' | 'merchantId'>;
  /** Runs on the fresh journal before the link and the engine start (e.g. to leave crashed operations). */
  prepare?: (journal: Journal) => void;
  /** An integrated terminal (started and ready) that takes every payment; the caller closes it. */
  integrated?: IntegratedTerminal;
}): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'pb-bench-'));
  const sim = await startHostSimulator({ controlPort: null });
  const reader = new InstantReader();
  const dialect = loadDialect('cup-pos');
  const journal = Journal.open({ dir, sealer: await Sealer.load(dir) });
  if (options.synchronous) journal.db.pragma(`synchronous = ${options.synchronous}`);
  options.prepare?.(journal);
  const merchantId = '898310048160001';
  const link = new HostLink({
    host: '127.0.0.1',
    port: sim.isoPort,
    dialect,
    terminalId: options.terminalId,
    merchantId,
    securityModule: reader.securityModule,
    keyLayout: 'double',
    counters: journal,
    timers: { idleEchoMs: 0 },
  });
  link.start();
  await link.whenReady(5000);
  const engine = new Engine({
    journal,
    host: link,
    reader,
    ...(options.integrated ? { integrated: options.integrated } : {}),
    dialect,
    fingerprintKey: FingerprintKey.generate(),
    config: { terminalId: options.terminalId, merchantId, ...options.config },
  });
  return {
    dir,
    sim,
    reader,
    journal,
    link,
    engine,
    async close() {
      await engine.stop();
      await link.close();
      journal.close();
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
