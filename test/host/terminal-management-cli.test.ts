import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Sealer } from '../../src/crypto/index.js';
import { runCli } from '../../src/daemon/commands.js';
import { paramsChecks, paramsView, readParamRows } from '../../src/daemon/params-command.js';
import { paramSetDigest, tmsSpec, type StoredParamEntry } from '../../src/host/index.js';
import { loadDialect } from '../../src/iso8583/index.js';
import { Journal } from '../../src/journal/index.js';
import { openReadOnly } from '../../src/daemon/journal-command.js';
import { capkTlv, loadTerminalParams, type SimCapk } from '../../simulators/host/index.js';
import { inProcess } from '../daemon/cli-io.js';

const spec = tmsSpec(loadDialect('cup-pos'));
const set = loadTerminalParams();

function capkEntries(capks: SimCapk[]): StoredParamEntry[] {
  return capks.map((c) => ({ key: c.rid + c.index, tlv: capkTlv(c).toString('hex').toUpperCase() }));
}

async function stateDir(fill: (j: Journal) => void): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'pb-params-'));
  const j = Journal.open({ dir, sealer: await Sealer.load(dir) });
  fill(j);
  j.close();
  return dir;
}

function save(j: Journal, capks: SimCapk[]): void {
  const capk = capkEntries(capks);
  j.saveParamSet({ kind: 'capk', reason: 'startup', entries: capk, digest: paramSetDigest(capk) });
  const aid = set.aids.map((a) => ({ key: a.tlv.slice(6, 22), tlv: a.tlv }));
  j.saveParamSet({ kind: 'aid', reason: 'startup', entries: aid, digest: paramSetDigest(aid) });
}

const run = (argv: string[]) => inProcess(runCli, argv);

describe('posbridge params', () => {
  it('shows the stored CAPKs (RID, index, expiry, check ok) and AIDs with version and download time', async () => {
    const dir = await stateDir((j) => save(j, set.capks));
    const r = await run(['params', '--home', dir]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^CA public keys: version 1, 7 key\(s\), downloaded \S+ \(startup\)$/m);
    expect(r.stdout).toMatch(/^ {2}A000000333 {2}08 {5}2040-12-31 {2}ok$/m);
    expect(r.stdout).toMatch(/^IC card parameters: version 1, 4 AID\(s\)/m);
    expect(r.stdout).toMatch(/A000000333010101 +0 {2}584000A800\/0010000000\/584024F830/);
    const j = await run(['params', '--home', dir, '--json']);
    const view = JSON.parse(j.stdout) as { capk: { entries: { index: string; checkOk: boolean }[] } };
    expect(view.capk.entries.map((e) => [e.index, e.checkOk])).toEqual([
      ['08', true],
      ['09', true],
      ['0A', true],
      ['0B', true],
      ['C1', true],
      ['C1', true],
      ['C1', true],
    ]);
  });

  it('a stored key that fails its check value, and an expired one, are shown and fail doctor', async () => {
    const capks = set.capks.map((c) => ({ ...c }));
    capks[0] = { ...capks[0]!, checkValue: 'FF'.repeat(20) };
    capks[1] = { ...capks[1]!, expiry: '20200101' };
    const dir = await stateDir((j) => save(j, capks));
    const r = await run(['params', '--home', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/A000000333 {2}08 .*FAILED/);
    expect(r.stdout).toMatch(/A000000333 {2}09 .*ok {2}EXPIRED/);
    const db = openReadOnly(dir);
    const checks = paramsChecks(paramsView(readParamRows(db), spec));
    db.close();
    expect(checks.map((c) => [c.name, c.status])).toEqual([
      ['terminal parameters', 'pass'],
      ['CAPK check values', 'fail'],
      ['CAPKs expired', 'warn'],
    ]);
    expect(checks[1]!.detail).toMatch(/A000000333\/08/);
    expect(checks[2]!.detail).toBe('expired: A000000333/09');
  });

  it('nothing downloaded: says so, exit 1; doctor warns', async () => {
    const dir = await stateDir(() => undefined);
    const r = await run(['params', '--home', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('CA public keys: none downloaded');
    const db = openReadOnly(dir);
    const checks = paramsChecks(paramsView(readParamRows(db), spec));
    db.close();
    expect(checks).toMatchObject([{ name: 'terminal parameters', status: 'warn' }]);
  });

  it('usage: --help exits 0; an unknown option or --kind without --download exits 2; --download needs the daemon (3)', async () => {
    const help = await run(['params', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: posbridge params/);
    const bad = await run(['params', '--bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect((await run(['params', '--kind', 'capk'])).code).toBe(2);
    expect((await run(['params', '--download', '--kind', 'pin'])).code).toBe(2);
    const dir = await stateDir(() => undefined);
    const d = await run(['params', '--download', '--home', dir]);
    expect(d.code).toBe(3);
    expect(d.stderr).toMatch(/no daemon is running/);
  });
});
