import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/daemon/config.js';
import { demoStateDir } from '../../simulators/demo.js';
import { posbridgeCli, runCli, simCli, spawnCli, type CliProcess } from '../../simulators/processes.js';
import { within } from './helpers.js';

// Issue 6: one rule for every command. POSBRIDGE_HOME (or --home) is the daemon's state directory, for
// the demo as for `posbridge token`, `doctor` and the rest; the demo's simulators keep their state in
// its simulators/ subdirectory, and the demo says so at start.

let home = '';
let demo: CliProcess;
const env = (): NodeJS.ProcessEnv => ({ ...process.env, POSBRIDGE_HOME: home });

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'pb-home-'));
  demo = spawnCli(simCli(), ['demo', '--port', '0', '--log-level', 'silent'], { env: env() });
  await demo.waitForLine(/"ready":true/, 30_000, 'stdout');
  await demo.waitForLine(/^Ctrl-C to stop/, 5000, 'stdout');
  // The demo starts a hub on PGlite too: on a loaded 2-core machine that takes more than the 10 s default.
}, 40_000);

afterAll(async () => {
  if (demo && demo.child.exitCode === null) {
    demo.child.kill('SIGKILL');
    await demo.exited;
  }
});

describe('POSBRIDGE_HOME is the state directory of the demo and of every command', () => {
  it('the demo prints the rule: its state directory and the exact command that uses it', () => {
    const out = demo.stdout();
    expect(out).toContain(
      `state      ${home}  (the daemon's state directory; simulators in ${join(home, 'simulators')})`,
    );
    expect(out).toContain(`POSBRIDGE_HOME=${home} npx posbridge token`);
    expect(existsSync(join(home, 'token'))).toBe(true);
    expect(
      existsSync(join(home, 'simulators', 'host-ledger.json')) || existsSync(join(home, 'simulators')),
    ).toBe(true);
    expect(existsSync(join(home, 'daemon'))).toBe(false);
  });

  it('`posbridge token` with the same POSBRIDGE_HOME prints the demo daemon token', async () => {
    const r = await runCli(posbridgeCli(), ['token'], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
    expect(r.stdout.trim()).toBe(readFileSync(join(home, 'token'), 'utf8').trim());
    // --home says the same.
    const h = await runCli(posbridgeCli(), ['token', '--home', home], {
      env: { ...process.env, POSBRIDGE_HOME: '' },
    });
    expect(h.stdout).toBe(r.stdout);
  });

  it('`posbridge doctor` with the same POSBRIDGE_HOME finds the running demo daemon', async () => {
    const r = await runCli(posbridgeCli(), ['doctor', '--json'], { env: env() });
    const checks = JSON.parse(r.stdout) as { name: string; status: string; detail: string }[];
    const signOn = checks.find((c) => c.name === 'sign-on');
    expect(signOn?.detail).not.toMatch(/no daemon running/);
    expect(signOn?.status).toBe('pass');
    expect(checks.find((c) => c.name === 'card reader')?.status).toBe('pass');
    expect(checks.find((c) => c.name === 'key file token')?.status).toBe('pass');
    expect(checks.find((c) => c.name === 'journal integrity')?.status).toBe('pass');
    // `doctor --home <what the demo printed>` is the same check.
    const byHome = await runCli(posbridgeCli(), ['doctor', '--json', '--home', home]);
    const again = JSON.parse(byHome.stdout) as { name: string; status: string }[];
    expect(again.find((c) => c.name === 'sign-on')?.status).toBe('pass');
  });

  it('the demo stops cleanly on SIGINT and says so', async () => {
    demo.child.kill('SIGINT');
    const exit = await within(demo.exited, 10_000, 'the demo should stop');
    expect(exit.code).toBe(0);
    expect(demo.stdout()).toMatch(/^stopping \(SIGINT\): nothing in flight/m);
    expect(demo.stdout()).toMatch(/^stopped cleanly in \d+\.\d s/m);
    expect(existsSync(join(home, 'daemon.json'))).toBe(false);
  });
});

describe('the rule in the code', () => {
  it('the demo default is ~/.posbridge-demo, never the production ~/.posbridge', () => {
    expect(demoStateDir({})).toBe(join(homedir(), '.posbridge-demo'));
    expect(demoStateDir({ POSBRIDGE_HOME: '/x/y' })).toBe('/x/y');
  });

  it('POSBRIDGE_HOME overrides the configuration file stateDir for `posbridge start` too', () => {
    const raw = {
      stateDir: '/from/the/file',
      terminalId: 'HOME0001',
      merchantId: '898310048160001',
      host: { address: '127.0.0.1', port: 1 },
      readers: [{ transport: 'tcp', host: '127.0.0.1', port: 2, pairedSerials: ['X'] }],
    };
    expect(parseConfig(raw, 't', {}).stateDir).toBe('/from/the/file');
    expect(parseConfig(raw, 't', { POSBRIDGE_HOME: '/from/env' }).stateDir).toBe('/from/env');
    const { stateDir: _omitted, ...noDir } = raw;
    expect(parseConfig(noDir, 't', {}).stateDir).toBe(join(homedir(), '.posbridge'));
  });
});
