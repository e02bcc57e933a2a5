import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/daemon/config.js';
import { doctor } from '../../src/daemon/doctor.js';
import { runCli } from '../../simulators/processes.js';
import { startZvtSimulator, type ZvtSimulatorHandle } from '../../simulators/zvt/index.js';
import { freePort } from './helpers.js';

// `posbridge doctor` with a ZVT terminal configured and no daemon running: doctor connects to the
// terminal itself and checks the connection, the registration (06 00), a status enquiry (05 01) and a
// diagnosis (06 70), each line with its fix; then it logs off again. (With a daemon running, the same
// checks go over the daemon's connection: test/daemon/zvt-daemon.test.ts.)
const CLI = ['--import', 'tsx', join(process.cwd(), 'src', 'daemon', 'cli.ts')];
let sim: ZvtSimulatorHandle;
let dir = '';

beforeAll(async () => {
  sim = await startZvtSimulator({ tcp: { port: 0 }, control: false, behaviour: { processingMs: 0 } });
  dir = mkdtempSync(join(tmpdir(), 'pb-zvt-doctor-'));
});

afterAll(async () => {
  await sim?.close();
});

function configFile(name: string, zvt: Record<string, unknown>): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      port: 0,
      stateDir: join(dir, name),
      terminalId: 'ZVTD0001',
      merchantId: '898310048160001',
      zvt,
      logLevel: 'silent',
    }),
  );
  return file;
}

interface Line {
  name: string;
  status: string;
  detail: string;
  fix?: string;
}

const zvtLines = (checks: Line[]) => checks.filter((c) => c.name.startsWith('ZVT'));

describe('posbridge doctor: a configured ZVT terminal', () => {
  it('against the simulator: connection, registration, status enquiry and diagnosis pass; exit 0', async () => {
    const file = configFile('ok', { tcp: { host: '127.0.0.1', port: sim.port }, password: '123456' });
    const r = await runCli(CLI, ['doctor', '--config', file]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`^PASS  ZVT connection: tcp://127\\.0\\.0\\.1:${sim.port} is open$`, 'm'),
    );
    expect(r.stdout).toMatch(
      /^PASS {2}ZVT registration: registered as the cash register of terminal 52500001/m,
    );
    expect(r.stdout).toMatch(/^PASS {2}ZVT status enquiry: status 00 .*software posbridge-zvt-sim 1\.0/m);
    expect(r.stdout).toMatch(/^PASS {2}ZVT diagnosis: the terminal reached its host/m);
    // A ZVT-only desk has no acquirer link: nothing to reach, nothing to sign on.
    expect(r.stdout).toMatch(/^PASS {2}acquirer host: none configured/m);
    expect(r.stdout).not.toMatch(/^FAIL/m);
    // Doctor logged off: the terminal is free for the daemon.
    for (let i = 0; i < 50 && sim.simulator.registered; i++) await new Promise((res) => setTimeout(res, 20));
    expect(sim.simulator.registered).toBe(false);
  });

  it('a closed port: the connection fails with its fix; exit 1', async () => {
    const port = await freePort();
    const file = configFile('closed', { tcp: { host: '127.0.0.1', port }, password: '123456' });
    const r = await runCli(CLI, ['doctor', '--config', file, '--json']);
    expect(r.code, r.stderr).toBe(1);
    const lines = zvtLines(JSON.parse(r.stdout) as Line[]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ name: 'ZVT connection', status: 'fail' });
    expect(lines[0]!.detail).toContain(`tcp://127.0.0.1:${port}`);
    expect(lines[0]!.detail).toMatch(/ECONNREFUSED|refused/);
    expect(lines[0]!.fix).toMatch(/IP address and ZVT port \(default 20007\)/);

    const text = await runCli(CLI, ['doctor', '--config', file]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(
      /^FAIL {2}ZVT connection: tcp:\/\/127\.0\.0\.1:\d+: .*\n {6}fix: check that the terminal is on/m,
    );
  });

  it('a wrong password: connected, the registration fails with its fix', async () => {
    const checks = await doctor(
      parseConfig(
        {
          stateDir: join(dir, 'pw'),
          terminalId: 'ZVTD0001',
          merchantId: '898310048160001',
          zvt: { tcp: { host: '127.0.0.1', port: sim.port }, password: '999999' },
        },
        'test',
        {},
      ),
      { zvt: { connectMs: 3000 } },
    );
    expect(zvtLines(checks).map((c) => [c.name, c.status])).toEqual([
      ['ZVT connection', 'pass'],
      ['ZVT registration', 'fail'],
    ]);
    const reg = checks.find((c) => c.name === 'ZVT registration')!;
    expect(reg.detail).toMatch(/refused the registration \(06 00\)/);
    expect(reg.fix).toMatch(/zvt\.password/);
  });
});
