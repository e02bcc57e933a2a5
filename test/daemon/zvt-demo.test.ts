import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { PosbridgeClient, newIdempotencyKey } from '../../src/api/client/index.js';
import { runCli, spawnCli, type CliProcess } from '../../simulators/processes.js';
import { within } from './helpers.js';

// `npm start -- --terminal zvt` (`posbridge-sim demo --terminal zvt`): the daemon with the ZVT terminal
// simulator over TCP instead of the reader and host simulators; it says which terminal it uses, proxies
// the simulator's control API under /sim/zvt/, and takes payments. An unknown --terminal is a usage error.
const SIM = ['--import', 'tsx', join(process.cwd(), 'simulators', 'cli.ts')];
let demo: CliProcess | undefined;

afterAll(async () => {
  if (demo && demo.child.exitCode === null) {
    demo.child.kill('SIGKILL');
    await demo.exited;
  }
});

describe('posbridge-sim demo --terminal', () => {
  it('an unknown terminal is a usage error (exit 2), one line with the fix', async () => {
    const r = await runCli(SIM, ['demo', '--terminal', 'mispos', '--port', '0'], {
      env: { ...process.env, POSBRIDGE_HOME: mkdtempSync(join(tmpdir(), 'pb-zvt-demo-bad-')) },
    });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      'posbridge-sim demo: --terminal must be one of reader, zvt, got "mispos": e.g. --terminal zvt (default reader)',
    ]);
    expect(r.stdout).toBe('');
  });

  it('--help names the option', async () => {
    const r = await runCli(SIM, ['demo', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('[--terminal reader|zvt]');
  });

  it('zvt: the ZVT simulator instead of reader and host, said at start, proxied under /sim/zvt/, takes a sale', async () => {
    const home = mkdtempSync(join(tmpdir(), 'pb-zvt-demo-'));
    demo = spawnCli(SIM, ['demo', '--terminal', 'zvt', '--port', '0', '--log-level', 'silent'], {
      env: { ...process.env, POSBRIDGE_HOME: home },
    });
    const ready = JSON.parse((await demo.waitForLine(/"ready":true/, 30_000, 'stdout')).line) as {
      ws: number;
      terminal: string;
    };
    expect(ready.terminal).toBe('zvt');
    await demo.waitForLine(/^Ctrl-C to stop/, 5000, 'stdout');
    expect(demo.stdout()).toMatch(
      /^ {2}terminal {3}zvt: ZVT terminal simulator on tcp:\/\/127\.0\.0\.1:\d+ \(password 123456, control API \/sim\/zvt\/\); no acquirer link, no card reader/m,
    );
    const base = `http://127.0.0.1:${ready.ws}`;
    const health = (await (await fetch(`${base}/sim/zvt/health`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ ok: true, terminalId: '52500001' });
    // No reader or host simulator runs.
    expect((await fetch(`${base}/sim/reader/cards`)).status).toBe(404);
    expect((await fetch(`${base}/sim/host/faults`)).status).toBe(404);
    // Fast customer for the test (the demo keeps human delays).
    const set = await fetch(`${base}/sim/zvt/behaviour`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ cardDelayMs: 0, longPinEntryMs: 0, processingMs: 0 }),
    });
    expect(set.status).toBe(200);

    const token = readFileSync(join(home, 'token'), 'utf8').trim();
    const pb = new PosbridgeClient({
      url: `ws://127.0.0.1:${ready.ws}/ws`,
      token,
      WebSocket: WebSocket as never,
    });
    await pb.connect();
    const { terminals } = await pb.terminal.list();
    expect(terminals[0]).toMatchObject({ kind: 'zvt' });
    const { paymentId } = await pb.payment.sale({
      idempotencyKey: newIdempotencyKey(),
      orderId: 'CAR-2024-0001',
      amount: 6_400_000,
      currency: 'CNY',
    });
    expect((await pb.waitForPayment(paymentId, { timeoutMs: 15_000 })).state).toBe('completed');
    pb.close();
    const ledger = (await (await fetch(`${base}/sim/zvt/transactions`)).json()) as { type: string }[];
    expect(ledger.map((t) => t.type)).toEqual(['sale']);

    demo.child.kill('SIGINT');
    const exit = await within(demo.exited, 10_000, 'the demo should stop');
    expect(exit.code).toBe(0);
  });
});
