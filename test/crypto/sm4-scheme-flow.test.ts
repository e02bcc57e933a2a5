/**
 * The SM4 key scheme end to end: the engine and the daemon's HostLink against the host simulator on the
 * cup-pos-sm4 dialect, with a reader holding an SM4 software security module. Sign-on delivers SM4
 * working keys (the KCVs must match the host's), the sale's 16-byte SM4 PIN block is verified by the
 * host, MACs are UnionPay SM4 MACs both ways, and a wrong MAC is answered A0.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { cardLogOptions, FingerprintKey } from '../../src/card/index.js';
import {
  CryptoError,
  Sealer,
  SoftwareSecurityModule,
  unwrapWorkingKeys,
  type GmSupport,
  type SecurityModule,
} from '../../src/crypto/index.js';
import { Engine } from '../../src/engine/index.js';
import { HostLink } from '../../src/host/index.js';
import { loadDialect } from '../../src/iso8583/index.js';
import { Journal } from '../../src/journal/index.js';
import { startHostSimulator, type HostSimulator } from '../../simulators/host/index.js';
import { InstantReader, READER_TMK } from '../../simulators/shared/instant-reader.js';
import type { CardResult } from '../../src/terminal/reader.js';

const TID = 'SM4T0001';
const MID = '898310048160001';
const TIMERS = {
  connectMs: 2000,
  responseMs: 1500,
  writeMs: 1000,
  idleEchoMs: 0,
  backoffInitialMs: 20,
  backoffMaxMs: 200,
  lateWindowMs: 60_000,
};

/** The instant reader with an SM4 module; it remembers the PIN blocks it produced (for the leak check). */
class Sm4Reader extends InstantReader {
  override readonly securityModule = new SoftwareSecurityModule(READER_TMK, {
    macAlgorithm: 'cup-ecb',
    keyScheme: 'sm4',
  });
  readonly pinBlocks: string[] = [];
  override async startTransaction(...args: Parameters<InstantReader['startTransaction']>) {
    const r = await super.startTransaction(...args);
    const card = (r as { card?: CardResult }).card;
    if (card?.pinBlock) this.pinBlocks.push(card.pinBlock.reveal().toString('hex'));
    return r;
  }
}

interface Rig {
  dir: string;
  sim: HostSimulator;
  link: HostLink;
  reader: Sm4Reader;
  journal: Journal;
  engine: Engine;
  logs: string[];
  close(): Promise<void>;
}

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

async function start(securityModule?: SecurityModule): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'pb-sm4-'));
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      logs.push(chunk.toString('utf8'));
      cb();
    },
  });
  const logger = pino({ ...cardLogOptions(), level: 'debug' }, sink);
  const sim = await startHostSimulator({ dialect: 'cup-pos-sm4', controlPort: null, logger });
  const reader = new Sm4Reader();
  const dialect = loadDialect('cup-pos-sm4');
  const journal = Journal.open({ dir, sealer: await Sealer.load(dir) });
  const link = new HostLink({
    host: '127.0.0.1',
    port: sim.isoPort,
    dialect,
    terminalId: TID,
    merchantId: MID,
    securityModule: securityModule ?? reader.securityModule,
    keyLayout: 'double',
    counters: journal,
    timers: TIMERS,
    logger,
  });
  link.start();
  await link.whenReady(3000);
  const engine = new Engine({
    journal,
    host: link,
    reader,
    dialect,
    fingerprintKey: FingerprintKey.generate(),
    config: {
      terminalId: TID,
      merchantId: MID,
      saf: { backoffInitialMs: 20, backoffMaxMs: 100, pollMs: 50 },
    },
    logger,
  });
  return {
    dir,
    sim,
    link,
    reader,
    journal,
    engine,
    logs,
    async close() {
      await engine.stop();
      await link.close();
      journal.close();
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function filesUnder(dir: string): Buffer[] {
  const out: Buffer[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(readFileSync(p));
  }
  return out;
}

describe('SM4 key scheme against the host simulator (cup-pos-sm4)', () => {
  it('sign-on KCVs match, sale with PIN → refund approved; MACs checked both ways; no PIN block or key leaks', async () => {
    rig = await start();
    const r = rig;
    // Sign-on: the host's check values are the ones the reader's module computed from field 62.
    const session = r.sim.ledger.session(TID);
    expect(session).toMatchObject({ networkCode: '005', layout: 'double' });
    const kcv = await r.reader.securityModule.keyCheckValues();
    expect(kcv.pik).toBe(session!.kcv.pik);
    expect(kcv.mak).toBe(session!.kcv.mak);
    expect(kcv.tdk).toBe(session!.kcv.tdk);

    const sale = await r.engine.settled(
      r.engine.submit({ kind: 'sale', idempotencyKey: 'sm4-sale', operatorId: 'op', amount: 12_300 }).id,
    );
    expect(sale).toMatchObject({ state: 'completed', approvedAmount: 12_300 });
    // The card has a PIN: the 16-byte SM4 block went in field 52 and the host accepted it.
    expect(r.reader.pinBlocks).toHaveLength(1);
    expect(r.reader.pinBlocks[0]).toHaveLength(32);
    const request = r.journal.attemptsOf(sale.id).find((a) => a.purpose === 'request');
    expect(request).toMatchObject({ mti: '0200', outcome: 'answered', responseCode: '00' });

    const refund = await r.engine.settled(
      r.engine.submit({
        kind: 'refund',
        idempotencyKey: 'sm4-refund',
        operatorId: 'op',
        originalId: sale.id,
        amount: 2_300,
      }).id,
    );
    expect(refund.state).toBe('completed');
    expect(r.sim.ledger.transactions({ tid: TID }).map((t) => t.type)).toEqual(
      expect.arrayContaining(['sale', 'refund']),
    );

    // Leak check: neither the PIN block nor a clear working key in the logs or the journal files.
    const clear = unwrapWorkingKeys(READER_TMK, Buffer.from(session!.field62, 'hex'), 'double', 'sm4');
    const secrets = [
      r.reader.pinBlocks[0]!,
      clear.pik.reveal().toString('hex'),
      clear.mak.reveal().toString('hex'),
    ];
    const logText = r.logs.join('').toLowerCase();
    expect(logText).toContain('signed on');
    const stored = filesUnder(r.dir);
    for (const s of secrets) {
      expect(logText).not.toContain(s);
      expect(logText).not.toContain(s.toUpperCase().toLowerCase());
      for (const f of stored) expect(f.includes(Buffer.from(s, 'hex'))).toBe(false);
    }
  });

  it('a request with a wrong SM4 MAC is answered A0 (sign on again), without a MAC', async () => {
    const inner = new SoftwareSecurityModule(READER_TMK, { macAlgorithm: 'cup-ecb', keyScheme: 'sm4' });
    const tampering: SecurityModule = {
      macAlgorithm: 'cup-ecb',
      keyScheme: 'sm4',
      mac: async (d) => {
        const m = await inner.mac(d);
        m[0] = m[0] === 0x30 ? 0x31 : 0x30;
        return m;
      },
      verifyMac: (d, m) => inner.verifyMac(d, m),
      loadWorkingKeys: (f, l) => inner.loadWorkingKeys(f, l),
      keyCheckValues: () => inner.keyCheckValues(),
    };
    rig = await start(tampering);
    const outcome = await rig.link.request({
      mti: '0200',
      fields: {
        2: '6212340000000000019',
        3: '000000',
        4: '000000000100',
        22: '022',
        25: '00',
        49: '156',
        60: { '1': '22', '2': '000001', '3': '000', '4': '2', '5': '0', '6': '0' },
      },
    });
    expect(outcome.status).toBe('answered');
    if (outcome.status !== 'answered') return;
    expect(outcome.response.fields[39]).toBe('A0');
    expect(outcome.response.fields[64]).toBeUndefined();
  });

  it('a host answer with a corrupted SM4 MAC is a mac_error at the link', async () => {
    rig = await start();
    rig.sim.faults.add({ action: 'corrupt_mac', match: { mti: '0200' } });
    const outcome = await rig.link.request({
      mti: '0200',
      fields: {
        2: '6212340000000000019',
        3: '000000',
        4: '000000000100',
        22: '022',
        25: '00',
        49: '156',
        60: { '1': '22', '2': '000001', '3': '000', '4': '2', '5': '0', '6': '0' },
      },
    });
    expect(outcome.status).toBe('mac_error');
  });
});

describe('SM4 key scheme at start-up', () => {
  const noSm4: GmSupport = { sm4: false, sm3: true, openssl: '3.0.0-nosm4' };
  const base = {
    host: '127.0.0.1',
    port: 1,
    terminalId: TID,
    merchantId: MID,
    keyLayout: 'double' as const,
    counters: { get: () => 0, set: () => undefined } as never,
  };

  it('an SM4 dialect on an OpenSSL without SM4 fails with a typed error naming it', () => {
    const des = new SoftwareSecurityModule(READER_TMK, { macAlgorithm: 'cup-ecb' });
    let err: unknown;
    try {
      new HostLink({ ...base, dialect: loadDialect('cup-pos-sm4'), securityModule: des, gmSupport: noSm4 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CryptoError);
    expect(err).toMatchObject({ code: 'bad_algorithm', reason: 'unsupported' });
    expect((err as Error).message).toMatch(/OpenSSL \(3\.0\.0-nosm4\) has no sm4-ecb/);
  });

  it('an SM4 dialect with a DES security module (or the reader) is refused; a DES dialect is not affected', () => {
    const des = new SoftwareSecurityModule(READER_TMK, { macAlgorithm: 'cup-ecb' });
    expect(() => new HostLink({ ...base, dialect: loadDialect('cup-pos-sm4'), securityModule: des })).toThrow(
      expect.objectContaining({
        code: 'bad_algorithm',
        reason: 'key_scheme',
        expected: 'sm4',
        actual: 'des',
      }),
    );
    const sm4 = new SoftwareSecurityModule(READER_TMK, { macAlgorithm: 'cup-ecb', keyScheme: 'sm4' });
    expect(() => new HostLink({ ...base, dialect: loadDialect('cup-pos'), securityModule: sm4 })).toThrow(
      expect.objectContaining({ reason: 'key_scheme', expected: 'des', actual: 'sm4' }),
    );
    expect(
      () => new HostLink({ ...base, dialect: loadDialect('cup-pos'), securityModule: des, gmSupport: noSm4 }),
    ).not.toThrow();
  });
});
