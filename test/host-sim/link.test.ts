import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { card, TestClient } from './client.js';
import { harness, rc, type Harness } from './helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(async () => {
  await h.close();
});

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('framing and connections', () => {
  it('reassembles a request sent one byte at a time', async () => {
    const c = await h.terminal();
    const req = await c.authFields(card('cup-magstripe'), { amount: 100 });
    const wire = await c.send(req.mti, req.fields, { write: false });
    for (const b of wire) {
      c.writeRaw(Buffer.from([b]));
      await new Promise((r) => setImmediate(r));
    }
    expect(rc(await c.receive())).toBe('00');
  });

  it('answers several frames coalesced in one chunk, with keep-alives between them', async () => {
    const c = await h.terminal();
    const wires: Buffer[] = [];
    const stans: string[] = [];
    for (let i = 0; i < 5; i++) {
      const req = await c.authFields(card('cup-magstripe'), { amount: 100 + i });
      stans.push(req.fields[11] as string);
      wires.push(await c.send(req.mti, req.fields, { write: false }), Buffer.alloc(2));
    }
    c.writeRaw(Buffer.concat(wires));
    const got: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await c.receive();
      expect(rc(r)).toBe('00');
      got.push(r!.msg!.fields[11] as string);
    }
    expect(got.sort()).toEqual(stans.sort());
  });

  it('answers with the TPDU source and destination swapped and the request header', async () => {
    const c = await h.terminal();
    const r = await c.sale(card('cup-magstripe'), 100);
    expect(r.unframed?.tpdu?.raw.toString('hex')).toBe('6000000003'); // 60 | dest 0003 | src 0000 -> 60 | 0000 | 0003;
    expect(r.unframed?.header?.raw.toString('hex')).toBe('603100000000');
  });

  it('ignores undecodable frames and keeps the connection', async () => {
    const c = await h.terminal();
    c.writeRaw(Buffer.concat([Buffer.from([0x00, 0x10]), Buffer.alloc(16, 0xee)]));
    expect(rc(await c.echo())).toBe('00');
  });

  it('closes a connection that announces a frame above the maximum', async () => {
    const c = await h.client();
    c.writeRaw(Buffer.from([0xff, 0xff, 0x60]));
    await c.whenClosed();
    expect(c.closed).toBe(true);
  });

  it('serves many terminals at once, each with its own keys', async () => {
    const terminals = await Promise.all(Array.from({ length: 20 }, () => h.terminal()));
    const results = await Promise.all(terminals.map((t) => t.sale(card('cup-debit-chip'), 1_000)));
    expect(results.every((r) => rc(r) === '00' && r.macValid === true)).toBe(true);
    const maks = new Set(terminals.map((t) => h.sim.ledger.session(t.tid)!.kcv.mak));
    expect(maks.size).toBe(20);
    // one connection can carry several terminals: keys are per TID (field 41), not per connection
    const shared = terminals[0]!;
    const other = terminals[1]!;
    const req = await other.authFields(card('cup-magstripe'), { amount: 100 });
    const wire = await other.send(req.mti, req.fields, { write: false });
    shared.writeRaw(wire); // other's request, MACed with other's MAK, on shared's connection
    expect(rc(await shared.receive())).toBe('00');
  });
});

describe('logs', () => {
  it('every message is logged through describe() and no clear PAN ever appears', async () => {
    const c = await h.terminal();
    const cd = card('cup-debit-chip');
    await c.sale(cd, 100_000, { pin: '123456' });
    await c.balance(card('visa-chip'));
    await c.sale(card('cup-token-huawei'), 1_000, { entry: 'contactless' });
    const text = h.logs.join('\n');
    expect(text).toContain('MTI 0200');
    expect(text).toContain('MTI 0210');
    expect(text).toContain(cd.pan.masked);
    for (const x of h.sim.cards.cards) expect(text).not.toContain(x.pan.reveal());
    // field 62 of the sign-on answer is not dumped
    const signOn = h.logs.find((l) => l.includes('MTI 0810'))!;
    expect(signOn).toMatch(/62 [^\\]*\*\*\*/);
  });
});

describe('CLI', () => {
  it('prints one ready line, serves, logs without clear PANs and stops on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'simulators/cli.ts', 'host', '--port', '0', '--control-port', '0'],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const lines = createInterface({ input: child.stdout });
    const ready = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no ready line; stderr: ${stderr}`)), 15_000);
      lines.once('line', (l) => {
        clearTimeout(t);
        resolve(l);
      });
    });
    const parsed = JSON.parse(ready) as { ready: boolean; iso: number; control: number };
    expect(parsed).toEqual({ ready: true, iso: expect.any(Number), control: expect.any(Number) });
    expect(Object.keys(parsed)).toEqual(['ready', 'iso', 'control']);

    const c = await TestClient.connect({ port: parsed.iso, tid: 'CLI00001' });
    await c.signOn('004');
    const cd = card('visa-chip');
    expect(rc(await c.sale(cd, 10_000))).toBe('00');
    const health = (await (await fetch(`http://127.0.0.1:${parsed.control}/health`)).json()) as {
      transactions: number;
    };
    expect(health.transactions).toBe(1);
    c.close();

    const more: string[] = [];
    lines.on('line', (l) => more.push(l));
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(more).toEqual([]); // exactly one stdout line
    expect(stderr).toContain('MTI 0200');
    expect(stderr).not.toContain(cd.pan.reveal());
  });

  it('refuses bad arguments with exit code 2', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'simulators/cli.ts', 'host', '--port', 'x'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(code).toBe(2);
  });
});
