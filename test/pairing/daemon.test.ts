import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocket as WS } from 'ws';
import {
  HandshakeRefusedError,
  PosbridgeClient,
  RpcError,
  UnauthorizedError,
  type ClientOptions,
} from '../../src/api/client/index.js';
import { parseConfig } from '../../src/daemon/config.js';
import { createDaemon, type Daemon } from '../../src/daemon/daemon.js';
import { pairCommand, tokensCommand, type CommandIo } from '../../src/daemon/pair-command.js';
import { removeDaemonFile, writeDaemonFile } from '../../src/daemon/running.js';
import { startHostSimulator, type HostSimulator } from '../../simulators/host/index.js';
import { InstantReader } from '../../simulators/shared/instant-reader.js';

// Pairing a CRM page end to end: `posbridge pair` through the running daemon's admin route, then
// session.pair from a page on an allowed Origin, tokens listed and revoked with `posbridge tokens`.

const CRM = 'https://crm.example.com';
const OTHER = 'https://other.example.com';

let sim: HostSimulator;
let daemon: Daemon;
let reader: InstantReader;
let home: string;
let url: string;
const clients: PosbridgeClient[] = [];

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'pb-pairing-'));
  sim = await startHostSimulator({ controlPort: null });
  reader = new InstantReader();
  const config = parseConfig(
    {
      port: 0,
      stateDir: home,
      terminalId: 'POSB0001',
      merchantId: '898310048160001',
      host: { address: '127.0.0.1', port: sim.isoPort },
      readers: [{ transport: 'tcp', host: '127.0.0.1', port: 9, pairedSerials: [] }],
      allowedOrigins: [CRM, OTHER],
      timers: { hostIdleEchoMs: 0 },
      logLevel: 'silent',
    },
    'test',
    { POSBRIDGE_KEY_FILE: process.env['POSBRIDGE_KEY_FILE'] },
  );
  daemon = await createDaemon({ config, reader, logger: pino({ level: 'silent' }) });
  const { port } = await daemon.start();
  // What `posbridge start` does, so the CLI commands find this (in-process) daemon.
  writeDaemonFile(home, { pid: process.pid, port });
  url = `ws://127.0.0.1:${port}/ws`;
});
afterAll(async () => {
  for (const c of clients) c.close();
  removeDaemonFile(home);
  await daemon?.stop();
  await sim?.close();
});

function capture(): CommandIo & { text: () => string; errors: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    text: () => out.join('\n'),
    errors: () => err.join('\n'),
  };
}

async function newCode(): Promise<string> {
  const io = capture();
  expect(await pairCommand(['--home', home, '--json'], io)).toBe(0);
  return (JSON.parse(io.text()) as { code: string }).code;
}

function page(origin: string | undefined, options: Partial<ClientOptions> = {}): PosbridgeClient {
  const c = new PosbridgeClient({
    url,
    createWebSocket: (u) => new WS(u, origin ? { origin } : {}) as never,
    reconnect: false,
    requestTimeoutMs: 5000,
    ...options,
  });
  clients.push(c);
  return c;
}

describe('posbridge pair', () => {
  it('shows a 6-digit code from the running daemon, also on the reader display', async () => {
    const shown = vi.spyOn(reader, 'displayText');
    const io = capture();
    expect(await pairCommand(['--home', home], io)).toBe(0);
    expect(io.text()).toMatch(/^Pairing code: \d{3} \d{3}\n/);
    expect(io.text()).toContain('pairing never adds one');
    const code = /Pairing code: (\d{3}) (\d{3})/.exec(io.text())!;
    expect(shown).toHaveBeenCalledWith(['Pairing code', `${code[1]} ${code[2]}`]);
    shown.mockRestore();
  });

  it('explains that the daemon must run when it does not', async () => {
    const io = capture();
    expect(await pairCommand(['--home', mkdtempSync(join(tmpdir(), 'pb-none-'))], io)).toBe(3);
    expect(io.errors()).toMatch(/posbridge is not running .*Start it/s);
  });
});

describe('session.pair', () => {
  let token: string;

  it('code → token bound to the Origin → hello works from that Origin', async () => {
    const crm = page(CRM);
    token = await crm.pair(await newCode());
    expect(token).toMatch(/^pbp_/);
    expect(crm.state).toBe('ready');
    expect((await crm.terminal.list()).terminals).toHaveLength(1);
    crm.close();
    // Later visits: hello with the stored token.
    const again = page(CRM, { token });
    await again.connect();
    expect(again.session?.sessionId).toBeTruthy();
  });

  it('the token is refused from another Origin and from a script without one', async () => {
    const other = page(OTHER, { token });
    expect(await other.connect().catch((e: unknown) => e)).toBeInstanceOf(UnauthorizedError);
    const script = page(undefined, { token });
    expect(await script.connect().catch((e: unknown) => e)).toBeInstanceOf(UnauthorizedError);
  });

  it('the token file stays for scripts', async () => {
    const script = page(undefined, { token: daemon.token });
    await script.connect();
    expect(script.state).toBe('ready');
  });

  it('a used code is refused', async () => {
    const code = await newCode();
    await page(CRM).pair(code);
    const e = await page(OTHER)
      .pair(code)
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RpcError);
    expect((e as RpcError).code).toBe('pairing_code_invalid');
  });

  it('pairing never adds an Origin: a page elsewhere cannot even connect, with or without a code', async () => {
    const code = await newCode();
    const evil = page('https://evil.example');
    const e = await evil.pair(code).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HandshakeRefusedError);
    expect(daemon.config.allowedOrigins).toEqual([CRM, OTHER]);
    // The code was not used up by the refused page.
    expect(await page(CRM).pair(code)).toMatch(/^pbp_/);
    expect(daemon.pairing.list().map((t) => t.origin)).not.toContain('https://evil.example');
  });
});

describe('posbridge tokens', () => {
  it('lists paired tokens (id, Origin, created, last used; never the token) and revoking one closes its live session', async () => {
    const crm = page(CRM);
    const token = await crm.pair(await newCode());
    const closed = new Promise<unknown>((resolve) => crm.on('error', resolve));
    const id = daemon.pairing.list().at(-1)!.id;

    const list = capture();
    expect(await tokensCommand(['--home', home], list)).toBe(0);
    expect(list.text()).toMatch(/^ID +ORIGIN +CREATED +LAST USED/);
    expect(list.text()).toContain(id);
    expect(list.text()).toContain(CRM);
    expect(list.text()).not.toContain(token);

    const revoke = capture();
    expect(await tokensCommand(['revoke', id, '--home', home], revoke)).toBe(0);
    expect(revoke.text()).toBe(`revoked ${id} (closed 1 open session)`);
    expect(await closed).toBeInstanceOf(UnauthorizedError);
    expect(crm.state).toBe('closed');
    // And it no longer says hello.
    expect(
      await page(CRM, { token })
        .connect()
        .catch((e: unknown) => e),
    ).toBeInstanceOf(UnauthorizedError);
    const unknown = capture();
    expect(await tokensCommand(['revoke', id, '--home', home], unknown)).toBe(1);
    expect(unknown.errors()).toContain(`no paired token ${id}`);
  });

  it('wrong codes from several connections are rate-limited together', async () => {
    const code = await newCode();
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    // Five wrong codes within a minute, whichever connections they come from (the reused code of an
    // earlier test was the first), void the code. Each attempt here comes on a new connection.
    const answers: string[] = [];
    for (let i = 0; i < 5; i++)
      answers.push(
        (
          (await page(i % 2 ? CRM : OTHER)
            .pair(wrong)
            .catch((x: unknown) => x)) as RpcError
        ).code,
      );
    expect(answers).toEqual([
      'pairing_code_invalid',
      'pairing_code_invalid',
      'pairing_code_invalid',
      'pairing_code_invalid',
      'pairing_rate_limited',
    ]);
    const limited = await page(OTHER)
      .pair(code)
      .catch((x: unknown) => x);
    expect((limited as RpcError).code).toBe('pairing_rate_limited');
  });
});
