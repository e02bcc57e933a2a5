/**
 * A DUKPT reader through the whole daemon path: reader simulator (profile pinKeyScheme dukpt-tdes or
 * dukpt-aes) → reader driver (PIN block + KSN) → engine (block unchanged, KSN into the dialect's KSN
 * field) → HostLink → host simulator on cup-pos-dukpt (PIN key from BDK + KSN). Sale → refund.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FingerprintKey } from '../../src/card/index.js';
import { dukptCounter, Sealer } from '../../src/crypto/index.js';
import { Engine } from '../../src/engine/index.js';
import { HostLink } from '../../src/host/index.js';
import { loadDialect } from '../../src/iso8583/index.js';
import { Journal } from '../../src/journal/index.js';
import { createCardReader, readerProfilesDir } from '../../src/terminal/index.js';
import type { CardReader } from '../../src/terminal/reader.js';
import { startHostSimulator } from '../../simulators/host/index.js';
import { DEFAULT_SERIAL_NUMBER, startReaderSimulator } from '../../simulators/reader/index.js';

const profileDir = mkdtempSync(join(tmpdir(), 'pb-dukpt-engine-'));
const base = JSON.parse(readFileSync(join(readerProfilesDir(), 'posbridge.json'), 'utf8')) as object;
function profile(scheme: 'dukpt-tdes' | 'dukpt-aes'): string {
  const p = join(profileDir, `posbridge-${scheme}.json`);
  writeFileSync(p, JSON.stringify({ ...base, name: `posbridge-${scheme}`, pinKeyScheme: scheme }));
  return p;
}

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

describe.each(['dukpt-tdes', 'dukpt-aes'] as const)('a %s reader through the engine', (scheme) => {
  it('sale with PIN → refund; the host reads each PIN from the KSN; the counter advances', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pb-dukpt-state-'));
    const sim = await startHostSimulator({ dialect: 'cup-pos-dukpt', controlPort: null });
    const rs = await startReaderSimulator({ tcp: { port: 0 }, control: false, profile: profile(scheme) });
    rs.setBehaviour({ cardDelayMs: 0, pinDigitDelayMs: 0, processingDelayMs: 0, card: 'cup-debit-chip' });
    const reader = createCardReader({
      transport: 'tcp',
      host: '127.0.0.1',
      port: rs.port!,
      profile: profile(scheme),
      pairedSerials: [DEFAULT_SERIAL_NUMBER],
      timers: { backoffInitialMs: 20, backoffMaxMs: 100 },
    });
    reader.start();
    await reader.whenReady(3000);
    const dialect = loadDialect('cup-pos-dukpt');
    const journal = Journal.open({ dir, sealer: await Sealer.load(dir) });
    const link = new HostLink({
      host: '127.0.0.1',
      port: sim.isoPort,
      dialect,
      terminalId: 'DUKE0001',
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
      config: { terminalId: 'DUKE0001', merchantId: '898310048160001' },
    });
    cleanup = async () => {
      await engine.stop();
      await link.close();
      await reader.close();
      journal.close();
      await rs.close();
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    };
    const pad = rs.simulator.pinPad!;
    expect(pad.scheme).toBe(scheme);
    for (let i = 1; i <= 2; i++) {
      const sale = await engine.settled(
        engine.submit({ kind: 'sale', idempotencyKey: `s${i}`, operatorId: 'op', amount: 1_000 * i }).id,
      );
      expect(sale.state, JSON.stringify(sale)).toBe('completed');
      expect(dukptCounter(pad.ksn)).toBe(i);
      const refund = await engine.settled(
        engine.submit({
          kind: 'refund',
          idempotencyKey: `r${i}`,
          operatorId: 'op',
          originalId: sale.id,
          amount: 500,
        }).id,
      );
      expect(refund.state).toBe('completed');
    }
    // A wrong PIN on the reader: the host cannot match it under the transaction's key → 55.
    rs.setBehaviour({ wrongPin: true });
    const bad = await engine.settled(
      engine.submit({ kind: 'sale', idempotencyKey: 'bad', operatorId: 'op', amount: 3_000 }).id,
    );
    expect(bad.state).toBe('declined');
    expect(dukptCounter(pad.ksn)).toBe(3);
    // Field 64 of each sale (it carried the KSN) verified under that transaction's DUKPT MAC key at the
    // host, and the reader checked the answers' response MACs (a completed sale needs a good one).
    const [device] = sim.dukptDevices();
    expect(device).toMatchObject({ scheme, counter: 2, used: 2, macs: 3 });
  });
});
