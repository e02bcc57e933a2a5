/** The ZVT simulator's control API and its CLI ready line. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ZvtTerminal } from '../../src/terminal/zvt/index.js';
import { startZvtSimulator, type ZvtSimulatorHandle } from '../../simulators/zvt/index.js';
import { runZvtCli, zvtOptionsFromArgs } from '../../simulators/zvt/cli.js';
import { TEST_TIMERS } from './rig.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  vi.restoreAllMocks();
});

async function api(
  sim: ZvtSimulatorHandle,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`http://127.0.0.1:${sim.controlPort}${path}`, {
    method,
    ...(body !== undefined
      ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }
      : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as unknown) : undefined };
}

describe('ZVT simulator control API', () => {
  it('GET/POST /behaviour validates (an unknown key is a 400 naming it), /transactions, /reset', async () => {
    const sim = await startZvtSimulator({ tcp: { port: 0 } });
    cleanups.push(() => sim.close());
    expect((await api(sim, 'GET', '/health')).json).toMatchObject({
      ok: true,
      terminalId: '52500001',
      zvt: sim.port,
    });
    expect((await api(sim, 'GET', '/behaviour')).json).toMatchObject({ busy: false, disabledCommands: [] });
    const set = await api(sim, 'POST', '/behaviour', { busy: true, disabledCommands: ['06 31'] });
    expect(set).toMatchObject({ status: 200, json: { busy: true, disabledCommands: ['06 31'] } });
    const unknown = await api(sim, 'POST', '/behaviour', { busy: false, explode: true });
    expect(unknown.status).toBe(400);
    expect(unknown.json).toMatchObject({
      error: { code: 'bad_behaviour', message: expect.stringContaining('$.explode') as string },
    });
    expect((await api(sim, 'POST', '/behaviour', { card: 'no-such-card' })).status).toBe(400);
    expect((await api(sim, 'POST', '/behaviour', { disabledCommands: ['0631'] })).status).toBe(400);
    expect((await api(sim, 'GET', '/behaviour')).json).toMatchObject({ busy: true });

    await api(sim, 'POST', '/behaviour', { busy: false });
    const term = new ZvtTerminal({
      tcp: { host: '127.0.0.1', port: sim.port! },
      password: '123456',
      timers: TEST_TIMERS,
    });
    cleanups.push(() => term.close());
    term.start();
    await term.whenReady(3000);
    expect((await term.sale({ reference: 'x', amount: 990, currency: '978' })).status).toBe('approved');
    const txns = (await api(sim, 'GET', '/transactions')).json as Array<Record<string, unknown>>;
    expect(txns).toEqual([
      expect.objectContaining({ type: 'sale', status: 'approved', amount: 990, receiptNo: '0001' }),
    ]);
    expect(JSON.stringify(txns)).toMatch(/"maskedPan":"411111\*{6}\d{4}"/);

    expect((await api(sim, 'POST', '/reset')).status).toBe(204);
    expect((await api(sim, 'GET', '/transactions')).json).toEqual([]);
    expect((await api(sim, 'GET', '/behaviour')).json).toMatchObject({ busy: false, disabledCommands: [] });
    expect((await api(sim, 'GET', '/nowhere')).status).toBe(404);
    expect((await api(sim, 'DELETE', '/reset')).status).toBe(405);
  });
});

describe('runZvtCli', () => {
  it('parses its options', () => {
    expect(
      zvtOptionsFromArgs(['--tcp', '0', '--password', '111111', '--card', 'mastercard-chip']),
    ).toMatchObject({
      tcp: { port: 0, host: '127.0.0.1' },
      password: '111111',
      behaviour: { card: 'mastercard-chip' },
    });
    expect(zvtOptionsFromArgs(['--serial', 'pty'])).toMatchObject({ pty: true });
    expect(() => zvtOptionsFromArgs(['--password', '12'])).toThrow(/6 digits/);
    expect(() => zvtOptionsFromArgs(['--behaviour', '{"nope":1}'])).toThrow(/nope/);
  });

  it('prints one JSON ready line with the ports and stops on SIGTERM', async () => {
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    const done = runZvtCli(['--tcp', '0', '--log-level', 'silent']);
    const end = Date.now() + 3000;
    while (!lines.length && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    const ready = JSON.parse(lines[0]!) as { ready: boolean; zvt: number; control: number };
    expect(ready).toMatchObject({ ready: true });
    expect(Object.keys(ready)).toEqual(['ready', 'zvt', 'control']);
    const health = await fetch(`http://127.0.0.1:${ready.control}/health`);
    expect(((await health.json()) as { zvt: number }).zvt).toBe(ready.zvt);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    process.emit('SIGTERM');
    expect(await done).toBe(0);
  });
});
