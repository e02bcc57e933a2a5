import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Sealer } from '../../src/crypto/index.js';
import {
  HostLink,
  TerminalManagementError,
  TerminalManager,
  capkCheckValue,
  capkOf,
  decodeStoredEntry,
  parseTlvList,
  tmsSpec,
  verifyCapk,
  type Capk,
  type KindResult,
} from '../../src/host/index.js';
import { loadDialect } from '../../src/iso8583/index.js';
import { Journal } from '../../src/journal/index.js';
import {
  startHostSimulator,
  type HostSimulator,
  type TerminalParamSet,
} from '../../simulators/host/index.js';
import { InstantReader } from '../../simulators/shared/instant-reader.js';

const dialect = loadDialect('cup-pos');
const spec = tmsSpec(dialect);
const vectors = JSON.parse(
  readFileSync(new URL('../vectors/terminal-management/unionpay-test-capks.json', import.meta.url), 'utf8'),
) as { capks: Omit<Capk, 'expiry'>[] };

interface Rig {
  dir: string;
  sim: HostSimulator;
  journal: Journal;
  link: HostLink;
  manager: TerminalManager;
}
const open: Rig[] = [];

async function rig(
  options: { dir?: string; sim?: HostSimulator; pageSize?: number; params?: TerminalParamSet } = {},
): Promise<Rig> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'pb-tms-'));
  const sim =
    options.sim ??
    (await startHostSimulator({
      controlPort: null,
      terminalParamsPageSize: options.pageSize ?? 3,
      ...(options.params ? { terminalParams: options.params } : {}),
    }));
  const journal = Journal.open({ dir, sealer: await Sealer.load(dir) });
  const reader = new InstantReader();
  const link = new HostLink({
    host: '127.0.0.1',
    port: sim.isoPort,
    dialect,
    terminalId: 'POSB0001',
    merchantId: '898310048160001',
    securityModule: reader.securityModule,
    keyLayout: 'double',
    counters: journal,
    timers: { connectMs: 2000, responseMs: 1500, idleEchoMs: 0, backoffInitialMs: 20, backoffMaxMs: 200 },
  });
  const manager = new TerminalManager({
    host: link,
    dialect,
    store: journal,
    minFlagIntervalMs: 0,
    retryMs: 0,
  });
  const r = { dir, sim, journal, link, manager };
  open.push(r);
  return r;
}

async function closeRig(r: Rig, keepSim = false): Promise<void> {
  r.manager.stop();
  await r.link.close();
  r.journal.close();
  if (!keepSim) await r.sim.close();
  open.splice(open.indexOf(r), 1);
}

afterEach(async () => {
  for (const r of [...open].reverse()) await closeRig(r);
});

function nextResult(m: TerminalManager): Promise<KindResult[]> {
  return new Promise((resolve) => m.once('result', resolve));
}

function defaultParams(): TerminalParamSet {
  return JSON.parse(
    readFileSync(new URL('../../simulators/host/terminal-params.json', import.meta.url), 'utf8'),
  ) as TerminalParamSet;
}

describe('UnionPay test CAPK vectors', () => {
  it('each published check value is SHA-1(RID || index || modulus || exponent)', () => {
    expect(vectors.capks.length).toBe(4);
    for (const c of vectors.capks) expect(capkCheckValue(c)).toBe(c.checkValue);
  });

  it('a key with one modulus bit changed is refused, naming its RID and index', () => {
    const c = { ...vectors.capks[1]!, expiry: '20401231' };
    const flipped = (parseInt(c.modulus[0]!, 16) ^ 1).toString(16).toUpperCase() + c.modulus.slice(1);
    let err: unknown;
    try {
      verifyCapk({ ...c, modulus: flipped });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TerminalManagementError);
    expect(err).toMatchObject({ code: 'check_value', path: 'capk A000000333/09', tag: 'DF03' });
  });
});

describe('field 62 TLV', () => {
  it('a truncated value is a typed error with the tag and its offset in the field', () => {
    // 9F06 05 A000000333, then DF02 81 90 with only 3 value bytes: DF02 starts at byte 8 (+1 status byte).
    const bytes = Buffer.from('9F0605A000000333DF028190B61645', 'hex');
    let err: unknown;
    try {
      parseTlvList(bytes, { field: 'field62', base: 1 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TerminalManagementError);
    expect(err).toMatchObject({ code: 'bad_tlv', tag: 'DF02', offset: 9, path: 'field62@9 tag DF02' });
    expect((err as Error).message).toMatch(/144 bytes but only 3 remain/);
  });

  it('a length byte missing after the tag, and a bad length form, name the offset', () => {
    expect(() => parseTlvList(Buffer.from('9F06', 'hex'), { field: 'field62' })).toThrow(
      /field62@0 tag 9F06/,
    );
    expect(() => parseTlvList(Buffer.from('9F0605A0000003339F2283', 'hex'), { field: 'field62' })).toThrow(
      /length form 0x83.*field62@10 tag 9F22/,
    );
  });
});

describe('terminal management against the host simulator', () => {
  it('downloads CAPKs and AID parameters at start-up when none are stored, verifying every CAPK', async () => {
    const r = await rig();
    const done = nextResult(r.manager);
    r.manager.start();
    r.link.start();
    const results = await done;
    expect(results.map((x) => [x.kind, x.outcome, x.entries])).toEqual([
      ['capk', 'stored', 7],
      ['aid', 'stored', 4],
    ]);
    // Seven keys at three per answer: three query rounds ("2" more follows twice, then "1" last).
    expect(r.sim.params.served).toMatchObject({ '372': 3, '370': 7, '371': 1, '382': 2, '380': 4, '381': 1 });
    const capks = r.journal.activeParamSet('capk')!;
    expect(capks).toMatchObject({ kind: 'capk', version: 1, reason: 'startup', entryCount: 7, active: true });
    const keys = capks.entries.map((e) => capkOf(decodeStoredEntry(spec.capk, e.tlv, 'stored')));
    expect(keys.map((k) => `${k.rid}/${k.index}`)).toEqual([
      'A000000333/08',
      'A000000333/09',
      'A000000333/0A',
      'A000000333/0B',
      'A000000333/C1',
      'A000000003/C1',
      'A000000004/C1',
    ]);
    for (const k of keys) expect(() => verifyCapk(k)).not.toThrow();
    expect(keys[0]).toMatchObject({
      expiry: '20401231',
      exponent: '03',
      hashAlgorithm: '01',
      keyAlgorithm: '01',
    });
    const aid = decodeStoredEntry(spec.aid, r.journal.activeParamSet('aid')!.entries[0]!.tlv, 'stored');
    expect(aid).toMatchObject({
      aid: 'A000000333010101',
      appVersion: '0030',
      tacDefault: '584000A800',
      tacOnline: '584024F830',
      tacDenial: '0010000000',
      floorLimit: 0,
      threshold: 0,
      targetPercent: '99',
      defaultDdol: '9F37', // as published (DF14 02 9F37)
      onlinePin: '01',
    });
  });

  it('keeps the sets across a restart and does not download again', async () => {
    const first = await rig();
    const done = nextResult(first.manager);
    first.manager.start();
    first.link.start();
    await done;
    const sim = first.sim;
    const dir = first.dir;
    await closeRig(first, true);
    const served = { ...sim.params.served };

    const second = await rig({ dir, sim });
    second.manager.start();
    second.link.start();
    await second.link.whenReady(3000);
    expect(await second.link.echo()).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    expect(sim.params.served).toEqual(served);
    expect(second.journal.activeParamSet('capk')).toMatchObject({ version: 1, entryCount: 7 });
    expect(second.journal.activeParamSet('aid')).toMatchObject({ version: 1, entryCount: 4 });
    await closeRig(second);
  });

  it('a response header asking for new public keys triggers a download that stores a new version', async () => {
    const r = await rig();
    let done = nextResult(r.manager);
    r.manager.start();
    r.link.start();
    await done;
    // The acquirer withdraws key 0A and flags the next responses (processing requirement 4).
    const changed = defaultParams();
    changed.capks = changed.capks.filter((c) => c.index !== '0A');
    r.sim.params.replace(changed);
    r.sim.params.requestDownload('capk');
    done = nextResult(r.manager);
    expect(await r.link.echo()).toBe(true);
    const results = await done;
    expect(results).toMatchObject([{ kind: 'capk', outcome: 'stored', entries: 6 }]);
    const active = r.journal.activeParamSet('capk')!;
    expect(active).toMatchObject({ version: 2, reason: 'host_request', entryCount: 6 });
    expect(active.entries.map((e) => e.key)).toEqual([
      'A00000033308',
      'A00000033309',
      'A0000003330B',
      'A000000333C1',
      'A000000003C1',
      'A000000004C1',
    ]);
    expect(r.journal.paramSets('capk').map((s) => [s.version, s.active])).toEqual([
      [2, true],
      [1, false],
    ]);
    // The flag is cleared by the query: the next answers carry none.
    expect(r.sim.params.pending).toEqual([]);
    expect(r.journal.activeParamSet('aid')).toMatchObject({ version: 1 });
  });

  it('an unchanged set downloaded again keeps its version', async () => {
    const r = await rig();
    let done = nextResult(r.manager);
    r.manager.start();
    r.link.start();
    await done;
    done = nextResult(r.manager);
    const results = await r.manager.download(['aid'], 'on_demand');
    await done;
    expect(results).toMatchObject([{ kind: 'aid', outcome: 'unchanged', entries: 4 }]);
    expect(r.journal.paramSets('aid')).toHaveLength(1);
  });

  it('a CAPK with a bad check value is refused with a typed error naming RID/index; nothing is stored', async () => {
    const params = defaultParams();
    params.capks[1] = { ...params.capks[1]!, checkValue: '00'.repeat(20) };
    const r = await rig({ params });
    const done = nextResult(r.manager);
    r.manager.start();
    r.link.start();
    const results = await done;
    expect(results[0]).toMatchObject({
      kind: 'capk',
      outcome: 'failed',
      error: { code: 'check_value', path: 'capk A000000333/09' },
    });
    expect(results[1]).toMatchObject({ kind: 'aid', outcome: 'stored' });
    expect(r.journal.activeParamSet('capk')).toBeUndefined();
    expect(r.journal.paramSets('capk')).toEqual([]);
  });

  it('a dialect without terminal management refuses a download with not_supported', async () => {
    const d = loadDialect('iso87-binary');
    const r = await rig();
    const m = new TerminalManager({ host: r.link, dialect: d, store: r.journal });
    expect(m.supported).toBe(false);
    await expect(m.download()).rejects.toMatchObject({ code: 'not_supported' });
  });
});
