import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PosbridgeClient } from '../../src/api/client/index.js';
import type { OperationView } from '../../src/engine/index.js';
import { describeOperation, formatAmount, stopOnSignal, watchSignals } from '../../src/daemon/lifecycle.js';
import { startHostSimulator, type HostSimulator } from '../../simulators/host/index.js';
import { posbridgeCli, spawnCli, type CliProcess } from '../../simulators/processes.js';
import {
  DEFAULT_SERIAL_NUMBER,
  startReaderSimulator,
  type ReaderSimulatorHandle,
} from '../../simulators/reader/index.js';
import { freePort, within } from './helpers.js';

// Issue 10: what a stop says. The first SIGTERM/SIGINT names what is waited for and ends with a closing
// line; a second one warns, naming each operation left open, and exits non-zero; the next start says
// what recovery did. The built `posbridge start` runs as a child process.

let host: HostSimulator;
let reader: ReaderSimulatorHandle;
let dir = '';
let configFile = '';
const running: CliProcess[] = [];

function writeConfig(file: string, stateDir: string, readerPort: number, port = 0): void {
  writeFileSync(
    file,
    JSON.stringify({
      port,
      stateDir,
      terminalId: 'STOP0001',
      merchantId: '898310048160001',
      host: { address: '127.0.0.1', port: host.isoPort },
      readers: [
        { transport: 'tcp', host: '127.0.0.1', port: readerPort, pairedSerials: [DEFAULT_SERIAL_NUMBER] },
      ],
      timers: { hostResponseMs: 1500, hostIdleEchoMs: 0, safPollMs: 100 },
      logLevel: 'info',
    }),
  );
}

async function start(file = configFile): Promise<{ p: CliProcess; port: number }> {
  const p = spawnCli(posbridgeCli(), ['start', '--config', file], {
    env: { ...process.env, POSBRIDGE_HOME: '', POSBRIDGE_PORT: '' },
  });
  running.push(p);
  const ready = await p.waitForLine(/"ready":true/, 30_000, 'stdout');
  return { p, port: (JSON.parse(ready.line) as { ws: number }).ws };
}

/** A sale submitted through the API and left in flight (the customer is slow). */
async function saleInFlight(port: number, stateDir: string, amount: number): Promise<string> {
  const pb = new PosbridgeClient({
    url: `ws://127.0.0.1:${port}/ws`,
    token: readFileSync(join(stateDir, 'token'), 'utf8').trim(),
    WebSocket: WebSocket as never,
    reconnect: false,
  });
  await pb.connect();
  const { paymentId } = await pb.payment.sale({
    idempotencyKey: `stop-${amount}-${Date.now()}`,
    orderId: 'CAR-STOP',
    amount,
    currency: 'CNY',
  });
  pb.close();
  await new Promise((r) => setTimeout(r, 200));
  return paymentId;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pb-stop-'));
  host = await startHostSimulator({ controlPort: null, ledgerFile: join(dir, 'ledger.json') });
  reader = await startReaderSimulator({ tcp: { port: 0 }, control: false });
  configFile = join(dir, 'config.json');
  writeConfig(configFile, join(dir, 'state'), reader.port!);
});

afterEach(() => {
  for (const p of running.splice(0)) if (p.child.exitCode === null) p.child.kill('SIGKILL');
});

afterAll(async () => {
  await reader?.close();
  await host?.close();
});

describe('posbridge start: stopping', () => {
  it('an idle daemon stops at once with a closing line (even while recovery waits for a reader)', async () => {
    // No reader answers: start-up recovery waits up to 30 s for it. That wait used to keep the stopped
    // process alive for the rest of those 30 s after "posbridge stopped".
    const file = join(dir, 'no-reader.json');
    writeConfig(file, join(dir, 'state-idle'), await freePort());
    const { p } = await start(file);
    const t0 = Date.now();
    p.child.kill('SIGTERM');
    const exit = await within(p.exited, 5000, 'an idle daemon should stop within a few seconds');
    expect(exit.code).toBe(0);
    expect(exit.at - t0).toBeLessThan(2000);
    expect(p.stderr()).toMatch(/^stopping \(SIGTERM\): nothing in flight/m);
    expect(p.stderr()).toMatch(/^stopped cleanly in \d+\.\d s$/m);
  });

  it('the first SIGTERM names the sale in flight, waits for it, then says it stopped cleanly', async () => {
    reader.setBehaviour({ cardDelayMs: 2500, pinDigitDelayMs: 0, processingDelayMs: 0 });
    const { p, port } = await start();
    const id = await saleInFlight(port, join(dir, 'state'), 12_300);
    p.child.kill('SIGTERM');
    await p.waitForLine(
      /^stopping \(SIGTERM\): no new payments; waiting for 1 operation in flight/,
      5000,
      'stderr',
    );
    const named = await p.waitForLine(new RegExp(`^  ${id} sale \\w+ 123\\.00 CNY$`), 2000, 'stderr');
    expect(named.line).toContain(id);
    const exit = await within(p.exited, 20_000, 'the daemon should stop once the sale is done');
    expect(exit.code).toBe(0);
    expect(p.stderr()).toMatch(/^stopped cleanly in \d+\.\d s \(waited for 1 operation\)$/m);
  });

  it('a second SIGTERM warns, naming the sale left open, exits non-zero; the restart reports its recovery', async () => {
    reader.setBehaviour({ cardDelayMs: 60_000, pinDigitDelayMs: 0, processingDelayMs: 0 });
    const { p, port } = await start();
    // This start's own recovery is done (nothing open) before the sale.
    await p.waitForLine(/^start-up recovery: examined \d+ open operations?: /, 10_000, 'stderr');
    const id = await saleInFlight(port, join(dir, 'state'), 45_600);
    p.child.kill('SIGTERM');
    await p.waitForLine(new RegExp(`^  ${id} sale \\w+ 456\\.00 CNY$`), 5000, 'stderr');
    p.child.kill('SIGTERM');
    const exit = await within(p.exited, 3000, 'a second SIGTERM should stop at once');
    expect(exit.code).not.toBe(0);
    expect(exit.code).toBe(1);
    const err = p.stderr();
    expect(err).toMatch(
      /^warning: stopped at once \(second SIGTERM\) with 1 operation left open; start-up recovery resolves it at the next start:$/m,
    );
    const warnAt = err.indexOf('warning: stopped at once');
    expect(err.slice(warnAt)).toContain(`  ${id} sale`);
    expect(err).not.toMatch(/stopped cleanly/);

    reader.setBehaviour({ cardDelayMs: 0 });
    const again = await start();
    const line = await again.p.waitForLine(/^start-up recovery: /, 20_000, 'stderr');
    expect(line.line).toMatch(/^start-up recovery: examined 1 open operation: .*cancelled_before_host 1/);
    again.p.child.kill('SIGTERM');
    expect((await within(again.p.exited, 5000, 'the restarted daemon should stop')).code).toBe(0);
  });
});

describe('stopOnSignal (in process)', () => {
  const view = (id: string, state: string, amount: number): OperationView =>
    ({ id, kind: 'sale', state, amount, currency: '156' }) as OperationView;

  it('names what it waits for and closes with how long it took', async () => {
    const signals = new EventEmitter();
    const watch = watchSignals(signals);
    const lines: string[] = [];
    let open = [view('op-1', 'awaiting_card', 600_00)];
    const done = stopOnSignal(watch, {
      inFlight: () => open,
      stop: async () => {
        await new Promise((r) => setTimeout(r, 50));
        open = [];
      },
      say: (l) => lines.push(l),
    });
    signals.emit('SIGINT');
    expect(await done).toBe(0);
    expect(lines[0]).toMatch(/^stopping \(SIGINT\): no new payments; waiting for 1 operation in flight/);
    expect(lines[1]).toBe('  op-1 sale awaiting_card 600.00 CNY');
    expect(lines[2]).toMatch(/^stopped cleanly in \d+\.\d s \(waited for 1 operation\)$/);
    watch.dispose();
  });

  it('a second signal returns 1 at once and names each operation left open', async () => {
    const signals = new EventEmitter();
    const watch = watchSignals(signals);
    const lines: string[] = [];
    const open = [view('op-1', 'authorizing', 100), view('op-2', 'awaiting_card', 5)];
    const done = stopOnSignal(watch, {
      inFlight: () => open,
      stop: () => new Promise(() => undefined), // never finishes
      say: (l) => lines.push(l),
    });
    signals.emit('SIGTERM');
    await new Promise((r) => setTimeout(r, 10));
    signals.emit('SIGINT');
    expect(await done).toBe(1);
    const warning = lines.findIndex((l) =>
      l.startsWith('warning: stopped at once (second SIGINT) with 2 operations left open'),
    );
    expect(warning).toBeGreaterThan(0);
    expect(lines.slice(warning + 1)).toEqual([
      '  op-1 sale authorizing 1.00 CNY',
      '  op-2 sale awaiting_card 0.05 CNY',
    ]);
    watch.dispose();
  });

  it('formats amounts in the currency', () => {
    expect(formatAmount(1_234_56, '156')).toBe('1234.56 CNY');
    expect(formatAmount(500, 'JPY')).toBe('500 JPY');
    expect(describeOperation(view('x', 'completed', 7))).toBe('x sale completed 0.07 CNY');
  });
});
