import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/daemon/commands.js';
import { parseConfig } from '../../src/daemon/config.js';
import { createDaemon, type Daemon } from '../../src/daemon/daemon.js';
import { removeDaemonFile, writeDaemonFile } from '../../src/daemon/running.js';
import type { KindResult } from '../../src/host/index.js';
import { loadTerminalParams, startHostSimulator, type HostSimulator } from '../../simulators/host/index.js';
import { InstantReader } from '../../simulators/shared/instant-reader.js';
import { inProcess } from '../daemon/cli-io.js';

// The daemon downloads what is missing as soon as its host link is ready, and again on demand through
// `posbridge params --download` (its admin route).
let sim: HostSimulator;
let daemon: Daemon;
let home: string;
let first: Promise<KindResult[]>;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'pb-tms-daemon-'));
  sim = await startHostSimulator({ controlPort: null });
  const config = parseConfig(
    {
      port: 0,
      stateDir: home,
      terminalId: 'POSB0001',
      merchantId: '898310048160001',
      host: { address: '127.0.0.1', port: sim.isoPort },
      readers: [{ transport: 'tcp', host: '127.0.0.1', port: 9, pairedSerials: [] }],
      allowedOrigins: ['https://crm.example.com'],
      timers: { hostIdleEchoMs: 0 },
      logLevel: 'silent',
    },
    'test',
    { POSBRIDGE_KEY_FILE: process.env['POSBRIDGE_KEY_FILE'] },
  );
  daemon = await createDaemon({ config, reader: new InstantReader(), logger: pino({ level: 'silent' }) });
  first = new Promise((resolve) => daemon.terminalManager.once('result', resolve));
  const { port } = await daemon.start();
  writeDaemonFile(home, { pid: process.pid, port });
});

afterAll(async () => {
  removeDaemonFile(home);
  await daemon?.stop();
  await sim?.close();
});

describe('terminal management in the daemon', () => {
  it('a fresh terminal downloads its CAPKs and IC parameters once the host link is ready', async () => {
    const results = await first;
    expect(results.map((r) => [r.kind, r.outcome])).toEqual([
      ['capk', 'stored'],
      ['aid', 'stored'],
    ]);
    expect(daemon.journal.activeParamSet('capk')).toMatchObject({
      version: 1,
      entryCount: 7,
      reason: 'startup',
    });
    const shown = await inProcess(runCli, ['params', '--home', home]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/CA public keys: version 1, 7 key\(s\)/);
  });

  it('`posbridge params --download --kind capk` goes through the running daemon and stores a new version', async () => {
    await first;
    const changed = loadTerminalParams();
    changed.capks = changed.capks.slice(0, 2);
    sim.params.replace(changed);
    const r = await inProcess(runCli, ['params', '--download', '--kind', 'capk', '--home', home]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      results: [{ kind: 'capk', outcome: 'stored', entries: 2 }],
    });
    expect(daemon.journal.activeParamSet('capk')).toMatchObject({
      version: 2,
      entryCount: 2,
      reason: 'on_demand',
    });
    expect(daemon.journal.activeParamSet('aid')).toMatchObject({ version: 1 });
  });
});
