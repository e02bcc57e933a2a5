/**
 * The hub's commands as an operator runs them: `posbridge hub serve`, `hub code`, `hub-enrol` on a
 * laptop, `doctor` seeing the hub, `hub revoke`, usage errors.
 */
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { posbridgeCli, runCli, spawnCli, type CliProcess } from '../../simulators/processes.js';

describe('posbridge hub commands', () => {
  let hub: CliProcess | undefined;
  afterAll(async () => {
    hub?.child.kill('SIGTERM');
    await hub?.exited;
  });

  it('serve, code, hub-enrol, doctor, revoke; usage errors exit 2', async () => {
    const root = mkdtempSync(join(tmpdir(), 'posbridge-hub-cli-'));
    const data = join(root, 'hub');
    const laptop = join(root, 'laptop');
    const env = { ...process.env, POSBRIDGE_HUB_ADMIN_PASSWORD: 'correct horse', DATABASE_URL: '' };
    hub = spawnCli(posbridgeCli(), ['hub', 'serve', '--port', '0', '--data', data], { env });
    const ready = JSON.parse((await hub.waitForLine(/"ready":true/, 60_000, 'stdout')).line) as { hub: number; db: string; url: string };
    expect(ready.db).toBe('pglite');
    expect(statSync(join(data, 'hub.json')).mode & 0o077).toBe(0);

    const code = await runCli(posbridgeCli(), ['hub', 'code', '--store', 'Shanghai Pudong', '--name', 'laptop 7', '--data', data], { env });
    expect(code.code, code.stderr).toBe(0);
    const made = JSON.parse(code.stdout) as { code: string };
    expect(made.code).toMatch(/^[A-Z0-9]{4}(-[A-Z0-9]{4}){3}$/);

    const enrol = await runCli(posbridgeCli(), ['hub-enrol', '--hub', ready.url, '--code', made.code, '--home', laptop], { env });
    expect(enrol.code, enrol.stderr).toBe(0);
    const enrolled = JSON.parse(enrol.stdout) as { daemonId: string; store: string };
    expect(enrolled.store).toBe('Shanghai Pudong');
    expect(statSync(join(laptop, 'hub.json')).mode & 0o077).toBe(0);
    expect(enrol.stdout).not.toContain('pbh_'); // the credential is kept, never printed

    // The same code does not work twice.
    const twice = await runCli(posbridgeCli(), ['hub-enrol', '--hub', ready.url, '--code', made.code, '--home', join(root, 'other')], { env });
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('unknown, expired or already used');

    const ok = await runCli(posbridgeCli(), ['doctor', '--home', laptop], { env });
    expect(ok.stdout).toMatch(/fleet hub.*as d_[0-9a-f]+ \(store Shanghai Pudong\)/);

    const revoke = await runCli(posbridgeCli(), ['hub', 'revoke', enrolled.daemonId, '--data', data], { env });
    expect(revoke.code, revoke.stderr).toBe(0);
    const after = await runCli(posbridgeCli(), ['doctor', '--home', laptop], { env });
    expect(after.stdout).toMatch(/fleet hub.*refuses this daemon/);

    // Usage errors: exit 2 with the usage.
    const usage = await runCli(posbridgeCli(), ['hub', 'code', '--data', data], { env });
    expect(usage.code).toBe(2);
    expect(usage.stdout).toContain('usage: posbridge hub');
    const noHub = await runCli(posbridgeCli(), ['hub', 'code', '--store', 'x', '--data', join(root, 'none')], { env });
    expect(noHub.code).toBe(3);
    expect(noHub.stderr).toContain('no hub is running');
  }, 120_000);
});
