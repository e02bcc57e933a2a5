/**
 * A desk for scan-to-pay reconciliation tests: the engine (journal, host link to the host simulator, the
 * instant reader) with Alipay and WeChat Pay adapters against the QR gateway simulator, all on one
 * settable clock (the journal's dates, the providers' payment times and their bills follow it), and a
 * SettlementService whose bill downloads go through `edits` (standing for the provider's own changes).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FingerprintKey } from '../../src/card/index.js';
import { Sealer } from '../../src/crypto/index.js';
import { Engine, SettlementService, type OperationView } from '../../src/engine/index.js';
import { qrFactsOf, type QrFacts } from '../../src/engine/qr-flow.js';
import { HostLink } from '../../src/host/index.js';
import { loadDialect } from '../../src/iso8583/index.js';
import { FINAL_STATES, Journal } from '../../src/journal/index.js';
import { ok, type BillLine, type QrMethod, type QrProvider } from '../../src/qr/index.js';
import { startHostSimulator, type HostSimulator } from '../../simulators/host/index.js';
import { startQrSimulator, type QrSimulator } from '../../simulators/qr/index.js';
import { InstantReader } from '../../simulators/shared/instant-reader.js';
import { MID, TID } from '../engine/harness.js';
import { alipayFor, wechatFor } from '../qr/rig.js';

export { TID, MID };

/** Payment codes the simulator pays at once (test/qr/rig.ts). */
export const CODE: Record<QrMethod, string> = {
  alipay: '280000000000001234',
  wechat: '134567890123451234',
};

export interface Clock {
  now(): Date;
  /** From now on the clock reads `iso` (and runs on from there). */
  set(iso: string): void;
}

export function clock(): Clock {
  let offset = 0;
  return {
    now: () => new Date(Date.now() + offset),
    set(iso: string) {
      offset = Date.parse(iso) - Date.now();
    },
  };
}

/** What the provider's bill says differently from its ledger (a provider-side correction or loss). */
export interface BillEdits {
  /** payment lines of these out_trade_nos are left out */
  drop: Set<string>;
  /** payment lines of these out_trade_nos carry this amount (fen) */
  amount: Map<string, number>;
  /** lines added to the bill of a date */
  extra: { date: string; line: BillLine }[];
}

function edited(p: QrProvider, edits: BillEdits): QrProvider {
  return {
    method: p.method,
    precreate: (r) => p.precreate(r),
    payByCode: (r) => p.payByCode(r),
    query: (n) => p.query(n),
    close: (n) => p.close(n),
    cancel: (n) => p.cancel(n),
    refund: (r) => p.refund(r),
    refundQuery: (a, b) => p.refundQuery(a, b),
    verifyNotification: (h, b) => p.verifyNotification(h, b),
    async bill(date) {
      const r = await p.bill(date);
      if (r.status !== 'ok') return r;
      const lines = r.value
        .filter((l) => !(l.kind === 'payment' && edits.drop.has(l.outTradeNo)))
        .map((l) =>
          l.kind === 'payment' && edits.amount.has(l.outTradeNo)
            ? { ...l, amount: edits.amount.get(l.outTradeNo)! }
            : l,
        );
      return ok([...lines, ...edits.extra.filter((e) => e.date === date).map((e) => e.line)]);
    },
  };
}

export interface QrDesk {
  dir: string;
  clock: Clock;
  host: HostSimulator;
  sim: QrSimulator;
  reader: InstantReader;
  journal: Journal;
  engine: Engine;
  /** Adapters of "another till" on the same merchant accounts: trades the journal never sees. */
  otherTill: Record<QrMethod, QrProvider>;
  edits: BillEdits;
  service: SettlementService;
  close(): Promise<void>;
}

export async function qrDesk(): Promise<QrDesk> {
  const dir = mkdtempSync(join(tmpdir(), 'pb-qr-recon-'));
  const c = clock();
  const host = await startHostSimulator({ controlPort: null });
  const sim = await startQrSimulator({ control: false, now: c.now });
  const reader = new InstantReader();
  const dialect = loadDialect('cup-pos');
  const journal = Journal.open({ dir, sealer: await Sealer.load(dir), now: c.now });
  const link = new HostLink({
    host: '127.0.0.1',
    port: host.isoPort,
    dialect,
    terminalId: TID,
    merchantId: MID,
    securityModule: reader.securityModule,
    keyLayout: 'double',
    counters: journal,
    timers: {
      connectMs: 2000,
      responseMs: 1500,
      writeMs: 1000,
      idleEchoMs: 0,
      backoffInitialMs: 20,
      backoffMaxMs: 200,
      lateWindowMs: 60_000,
    },
  });
  link.start();
  await link.whenReady(3000);
  const providers = { alipay: alipayFor(sim, { now: c.now }), wechat: wechatFor(sim, { now: c.now }) };
  const engine = new Engine({
    journal,
    host: link,
    reader,
    qr: providers,
    qrTimers: { pollMs: 10 },
    dialect,
    fingerprintKey: FingerprintKey.generate(),
    now: c.now,
    config: { terminalId: TID, merchantId: MID },
  });
  const edits: BillEdits = { drop: new Set(), amount: new Map(), extra: [] };
  const service = new SettlementService({
    journal,
    host: link,
    terminalId: TID,
    merchantId: MID,
    saf: engine.saf,
    qr: { alipay: edited(providers.alipay, edits), wechat: edited(providers.wechat, edits) },
    now: c.now,
  });
  return {
    dir,
    clock: c,
    host,
    sim,
    reader,
    journal,
    engine,
    otherTill: { alipay: alipayFor(sim, { now: c.now }), wechat: wechatFor(sim, { now: c.now }) },
    edits,
    service,
    async close() {
      await engine.stop();
      await link.close();
      journal.close();
      await sim.close();
      await host.close();
    },
  };
}

let keys = 0;

export async function final(desk: QrDesk, id: string, ms = 10_000): Promise<OperationView> {
  const end = Date.now() + ms;
  for (;;) {
    const v = desk.engine.view(id);
    if (FINAL_STATES.has(v.state) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function factsOf(desk: QrDesk, id: string): QrFacts {
  return qrFactsOf(desk.journal.getOperation(id)!)!;
}

/** A QR sale: a payment code (paid at once), or a QR the customer scans and pays (or that is cancelled). */
export async function qrSale(
  desk: QrDesk,
  method: QrMethod,
  amount: number,
  how: 'code' | 'scan' | 'unpaid' | { beforeScan: () => void },
): Promise<OperationView> {
  const v = desk.engine.submit({
    kind: 'sale',
    idempotencyKey: `qr-${method}-${++keys}`,
    operatorId: 'op-1',
    orderId: 'ORDER-QR',
    amount,
    method,
    ...(how === 'code' ? { authCode: CODE[method] } : {}),
  });
  if (how !== 'code') {
    const end = Date.now() + 5000;
    while (!desk.engine.view(v.id).qr?.qrContent && Date.now() < end)
      await new Promise((r) => setTimeout(r, 5));
    if (how === 'unpaid') await desk.engine.cancel(v.id, 'op-1');
    else {
      if (typeof how === 'object') how.beforeScan();
      desk.sim.scan({ outTradeNo: factsOf(desk, v.id).outTradeNo, provider: method }, 'pay');
    }
  }
  return final(desk, v.id);
}

export async function qrRefund(desk: QrDesk, originalId: string, amount: number): Promise<OperationView> {
  const v = desk.engine.submit({
    kind: 'refund',
    idempotencyKey: `qr-refund-${++keys}`,
    operatorId: 'op-1',
    originalId,
    amount,
  });
  return final(desk, v.id);
}

export async function cardSale(desk: QrDesk, amount: number): Promise<OperationView> {
  desk.reader.pick('cup-debit-chip');
  const v = desk.engine.submit({
    kind: 'sale',
    idempotencyKey: `card-${++keys}`,
    operatorId: 'op-1',
    orderId: 'ORDER-QR',
    amount,
  });
  return desk.engine.settled(v.id);
}
