import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FingerprintKey } from '../../src/card/index.js';
import { Sealer } from '../../src/crypto/index.js';
import { Engine } from '../../src/engine/index.js';
import { HostLink } from '../../src/host/index.js';
import { loadDialect } from '../../src/iso8583/index.js';
import { Journal } from '../../src/journal/index.js';
import { createCardReader } from '../../src/terminal/index.js';
import type { CardReader } from '../../src/terminal/reader.js';
import { startHostSimulator, type HostSimulator } from '../../simulators/host/index.js';
import {
  DEFAULT_SERIAL_NUMBER,
  startReaderSimulator,
  type ReaderSimulatorHandle,
} from '../../simulators/reader/index.js';

// The engine driving the real reader driver over TCP to the reader simulator, against the host simulator.
let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

async function rig(options: { beforeSignOn?: (rs: ReaderSimulatorHandle) => void } = {}): Promise<{
  engine: Engine;
  sim: HostSimulator;
  rs: ReaderSimulatorHandle;
  journal: Journal;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'pb-real-reader-'));
  const sim = await startHostSimulator({ controlPort: null });
  const rs = await startReaderSimulator({ tcp: { port: 0 }, control: false });
  rs.setBehaviour({ cardDelayMs: 0, pinDigitDelayMs: 0, processingDelayMs: 0 });
  const reader = createCardReader({
    transport: 'tcp',
    host: '127.0.0.1',
    port: rs.port!,
    profile: 'posbridge',
    pairedSerials: [DEFAULT_SERIAL_NUMBER],
    timers: { backoffInitialMs: 20, backoffMaxMs: 100 },
  });
  reader.start();
  await reader.whenReady(3000);
  options.beforeSignOn?.(rs);
  const dialect = loadDialect('cup-pos');
  const journal = Journal.open({ dir, sealer: await Sealer.load(dir) });
  const link = new HostLink({
    host: '127.0.0.1',
    port: sim.isoPort,
    dialect,
    terminalId: 'REAL0001',
    merchantId: '898310048160001',
    securityModule: reader.securityModule,
    keyLayout: 'double',
    counters: journal,
    timers: { responseMs: 1500, idleEchoMs: 0, backoffInitialMs: 20, backoffMaxMs: 100 },
  });
  link.start();
  await link.whenReady(5000);
  const engine = new Engine({
    journal,
    host: link,
    reader: reader as unknown as CardReader,
    dialect,
    fingerprintKey: FingerprintKey.generate(),
    config: { terminalId: 'REAL0001', merchantId: '898310048160001' },
  });
  cleanup = async () => {
    await engine.stop();
    await link.close();
    await reader.close();
    journal.close();
    await rs.close();
    await sim.close();
  };
  return { engine, sim, rs, journal };
}

describe('engine with the real reader driver and the reader simulator', () => {
  it('chip sale with PIN: ARQC checked by the host, TC from the simulated card', async () => {
    const { engine, journal } = await rig();
    const v = await engine.settled(
      engine.submit({ kind: 'sale', idempotencyKey: 'rr-1', operatorId: 'op', amount: 12_300 }).id,
    );
    expect({
      state: v.state,
      reason: v.reason,
      attempt: journal.attemptsOf(v.id)[0]?.reason ?? null,
    }).toEqual({ state: 'completed', reason: null, attempt: null });
    expect(journal.attemptsOf(v.id)[0]).toMatchObject({ responseCode: '00' });
    const second = await engine.settled(
      engine.submit({ kind: 'sale', idempotencyKey: 'rr-2', operatorId: 'op', amount: 4_500 }).id,
    );
    expect(second.state).toBe('completed');
  });

  it('a decline leaves the reader free for the next payment', async () => {
    const { engine } = await rig();
    const d = await engine.settled(
      engine.submit({ kind: 'sale', idempotencyKey: 'rr-d', operatorId: 'op', amount: 10_051 }).id,
    );
    expect(d.state).toBe('declined');
    const next = await engine.settled(
      engine.submit({ kind: 'sale', idempotencyKey: 'rr-n', operatorId: 'op', amount: 2_000 }).id,
    );
    expect(next.state).toBe('completed');
  });

  it('the reader drops while it takes the working keys at sign-on: keys usable again, sales complete (defect 4)', async () => {
    const { engine, journal } = await rig({
      beforeSignOn: (rs) => rs.setBehaviour({ dropLinkAt: 'during_load_keys', dropForMs: 200 }),
    });
    const v = await engine.settled(
      engine.submit({ kind: 'sale', idempotencyKey: 'rr-keys', operatorId: 'op', amount: 6_100 }).id,
    );
    expect({
      state: v.state,
      reason: v.reason,
      attempt: journal.attemptsOf(v.id)[0]?.reason ?? null,
    }).toEqual({
      state: 'completed',
      reason: null,
      attempt: null,
    });
  });
});
