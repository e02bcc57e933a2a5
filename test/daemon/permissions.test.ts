import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCli as runCommand } from '../../src/daemon/commands.js';
import { doctor } from '../../src/daemon/doctor.js';
import {
  CliFailure,
  describeFailure,
  EXIT,
  fileSystemFailure,
  permissionDeniedMessage,
  StateAccessError,
} from '../../src/daemon/failures.js';
import { openReadOnly } from '../../src/daemon/journal-command.js';
import { runningDaemon } from '../../src/daemon/running.js';
import { readToken } from '../../src/daemon/state-dir.js';
import { posbridgeCli, runCli } from '../../simulators/processes.js';
import { denial } from './helpers.js';

// Issue 7: a state directory this user may not read is "permission denied reading <path>: run as the
// user that owns it or fix its mode", with a non-zero exit, never "not created yet" or "no token".
//
// Tests run as root here, where chmod denies nothing. So: (1) the errno → message mapping; (2) the
// commands with node:fs answering EACCES for one directory, exactly as it does for another user's
// 0700 directory (existsSync false, stat/read/access EACCES), which fails before the fix even as root;
// (3) the real CLI as a child process as `nobody` (as root) or on a chmod-ed directory (as anyone else).

// Everything under this path answers EACCES, as a directory inside another user's 0700 home does.
const DENIED = '/pb-denied-by-test/state';

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const root = '/pb-denied-by-test';
  const denied = (p: unknown): boolean => typeof p === 'string' && p.startsWith(root);
  const eacces = (syscall: string, p: unknown): Error =>
    Object.assign(new Error(`EACCES: permission denied, ${syscall} '${String(p)}'`), {
      code: 'EACCES',
      errno: -13,
      syscall,
      path: String(p),
    });
  const guard =
    <A extends unknown[], R>(syscall: string, f: (...a: A) => R) =>
    (...a: A): R => {
      if (denied(a[0])) throw eacces(syscall, a[0]);
      return f(...a);
    };
  const mocked = {
    ...real,
    existsSync: (p: Parameters<typeof real.existsSync>[0]) => (denied(p) ? false : real.existsSync(p)),
    statSync: guard('stat', real.statSync),
    lstatSync: guard('lstat', real.lstatSync),
    accessSync: guard('access', real.accessSync),
    readFileSync: guard('open', real.readFileSync),
    openSync: guard('open', real.openSync),
    mkdirSync: guard('mkdir', real.mkdirSync),
    readdirSync: guard('scandir', real.readdirSync),
  };
  return { ...mocked, default: mocked };
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the errno → message mapping', () => {
  it('EACCES and EPERM are "permission denied", with the path, the fix and exit 5', () => {
    for (const code of ['EACCES', 'EPERM']) {
      const f = fileSystemFailure(
        Object.assign(new Error(code), { code, syscall: 'open', path: '/s/token' }),
        undefined,
        'reading',
      );
      expect(f?.exitCode).toBe(EXIT.stateDir);
      expect(f?.message).toBe(
        'permission denied reading /s/token: run as the user that owns it or fix its mode',
      );
    }
    expect(
      describeFailure(Object.assign(new Error('x'), { code: 'EACCES', syscall: 'mkdir', path: '/s' }))
        .message,
    ).toBe(permissionDeniedMessage('/s', 'writing'));
    // A missing file is not a permission problem.
    expect(fileSystemFailure(Object.assign(new Error('x'), { code: 'ENOENT', path: '/s' }))).toBeUndefined();
  });
});

describe("with node:fs answering EACCES (as for another user's directory)", () => {
  it('readToken says permission denied instead of "no token"', () => {
    expect(() => readToken(DENIED)).toThrow(StateAccessError);
    expect(() => readToken(DENIED)).toThrow(
      `permission denied reading ${DENIED}/token: run as the user that owns it or fix its mode`,
    );
  });

  it('journal: permission denied instead of "no journal"', () => {
    expect(() => openReadOnly(DENIED)).toThrow(`permission denied reading ${DENIED}`);
  });

  it('runningDaemon: permission denied instead of "not running"', () => {
    expect(() => runningDaemon(DENIED)).toThrow(StateAccessError);
  });

  it('doctor fails the checks it cannot make, never "not created yet"', async () => {
    const checks = await doctor({ stateDir: DENIED, readers: [] });
    const byName = Object.fromEntries(checks.map((c) => [c.name, c]));
    expect(byName['state directory']).toMatchObject({
      status: 'fail',
      detail: `permission denied reading ${DENIED}: run as the user that owns it or fix its mode`,
    });
    for (const f of ['token', 'seal-keys.json', 'fingerprint.key'])
      expect(byName[`key file ${f}`]?.status).toBe('fail');
    expect(byName['journal integrity']?.status).toBe('fail');
    expect(byName['sign-on']).toMatchObject({ status: 'fail' });
    expect(JSON.stringify(checks)).not.toMatch(/not created yet|does not exist yet|no daemon running/);
  });

  it('the commands exit non-zero: token and journal 5, doctor 1', async () => {
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    for (const argv of [
      ['token', '--home', DENIED],
      ['journal', 'list', '--home', DENIED],
      ['recover', '--home', DENIED],
    ]) {
      const failure = await runCommand(argv).then(
        (code) => new CliFailure(code as 0, `resolved with ${code}`),
        (e: unknown) => describeFailure(e),
      );
      expect(failure.exitCode, argv.join(' ')).toBe(EXIT.stateDir);
      expect(failure.message).toMatch(/^permission denied reading \/pb-denied-by-test\/state/);
    }
    expect(await runCommand(['doctor', '--home', DENIED])).toBe(EXIT.problem);
    expect(out.mock.calls.map((c) => String(c[0])).join('')).toContain(
      `FAIL  state directory: permission denied reading ${DENIED}`,
    );
  });
});

describe('the real CLI on a directory this user may not read', () => {
  const how = denial(process.cwd());
  const skip = 'reason' in how ? how.reason : undefined;
  if (skip) console.warn(`SKIPPED (loudly): the process-level permission test cannot run here: ${skip}`);

  it.skipIf(skip !== undefined)(
    'token, journal and doctor say "permission denied" and exit non-zero',
    async () => {
      const d = how as Exclude<typeof how, { reason: string }>;
      const parent = mkdtempSync(join(tmpdir(), 'pb-perm-'));
      chmodSync(parent, 0o755);
      const home = join(parent, 'state');
      mkdirSync(home, { mode: 0o700 });
      writeFileSync(join(home, 'token'), `${'ab'.repeat(32)}\n`, { mode: 0o600 });
      writeFileSync(join(home, 'journal.db'), '');
      d.unreadable(home);
      const env = { ...process.env, POSBRIDGE_HOME: home };
      try {
        const token = await runCli(posbridgeCli(), ['token'], { env, ...d.spawn });
        expect(token.stderr).toBe(
          `posbridge: permission denied reading ${home}/token: run as the user that owns it or fix its mode\n`,
        );
        expect(token.code).toBe(5);
        const journal = await runCli(posbridgeCli(), ['journal', 'list'], { env, ...d.spawn });
        expect(journal.stderr).toMatch(new RegExp(`^posbridge: permission denied reading ${home}`));
        expect(journal.code).toBe(5);
        const doc = await runCli(posbridgeCli(), ['doctor'], { env, ...d.spawn });
        expect(doc.stdout).toContain(`FAIL  state directory: permission denied reading ${home}`);
        expect(doc.stdout).not.toMatch(/not created yet|no daemon running/);
        expect(doc.code).toBe(1);
      } finally {
        d.restore(home);
      }
    },
  );
});
