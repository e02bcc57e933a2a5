import { afterEach, describe, expect, it } from 'vitest';
import { HubLink } from '../../src/api/index.js';
import { createEnrolCode, int, revokeDaemon, startHub, type Hub, type HubDb } from '../../src/hub/index.js';
import { FakeSource } from './fake-source.js';
import { STORES, freshDb } from './hub-db.js';

const FAST = { pollMs: 20, healthMs: 50, backoffInitialMs: 20, backoffMaxMs: 100, requestTimeoutMs: 2000 };

async function until(check: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function enrolled(hub: Hub, store = 'SH-01'): Promise<{ daemonId: string; credential: string }> {
  const { code } = await createEnrolCode(hub.db, { store });
  const res = await fetch(`${hub.url}/v1/enrol`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code, terminalIds: ['T0000001'], version: 'test' }),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { daemonId: string; credential: string };
}

const post = (hub: Hub, credential: string, body: unknown) =>
  fetch(`${hub.url}/v1/ingest`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${credential}` },
    body: JSON.stringify(body),
  });

for (const store of STORES) {
  describe.skipIf(store.skip)(`hub ingestion (${store.name})`, () => {
    let db: HubDb | undefined;
    let hub: Hub | undefined;
    const links: HubLink[] = [];
    afterEach(async () => {
      for (const l of links.splice(0)) await l.stop();
      await hub?.close();
      await db?.close();
      hub = undefined;
      db = undefined;
    });
    const open = async (opts: { maxInFlight?: number } = {}) => {
      db = await freshDb(store.name);
      hub = await startHub({ db, ...opts });
      return hub;
    };

    it('a daemon enrols once with a code, streams its journal, and the hub holds every event once with the latest views', async () => {
      const h = await open();
      const { daemonId, credential } = await enrolled(h);
      // The code is single use.
      const again = await fetch(`${h.url}/v1/enrol`, {
        method: 'POST',
        body: JSON.stringify({ code: 'XXXX-XXXX-XXXX-XXXX', terminalIds: [], version: 't' }),
      });
      expect(again.status).toBe(403);

      const src = new FakeSource();
      for (let i = 0; i < 40; i++) src.sale(`p${i}`, 100_00 + i, ['submitted', 'authorizing', 'completed'], { stan: String(i).padStart(6, '0') });
      const link = new HubLink({ url: h.url, credential, source: src, batchSize: 25, ...FAST, health: () => health() });
      links.push(link);
      link.start();
      await until(() => link.status().ackedSeq === 120);
      const [ev] = await h.db.query<{ n: unknown; d: unknown }>(
        'SELECT count(*) AS n, count(DISTINCT seq) AS d FROM hub_events WHERE daemon_id = $1',
        [daemonId],
      );
      expect(int(ev!.n)).toBe(120);
      expect(int(ev!.d)).toBe(120);
      const pays = await h.db.query<{ state: string; amount: unknown; store: string }>(
        'SELECT state, amount, store FROM hub_payments WHERE daemon_id = $1 ORDER BY payment_id',
        [daemonId],
      );
      expect(pays).toHaveLength(40);
      expect(pays.every((p) => p.state === 'completed' && p.store === 'SH-01')).toBe(true);
      expect(pays.reduce((a, p) => a + int(p.amount), 0)).toBe(40 * 100_00 + (39 * 40) / 2);
      const [d] = await h.db.query<{ health: { version: string } | null }>('SELECT health FROM hub_daemons WHERE id = $1', [daemonId]);
      expect(d!.health?.version).toBe('test-1');
    });

    it('a resent batch is acknowledged and stored once; a batch beyond the cursor is refused with the cursor', async () => {
      const h = await open();
      const { daemonId, credential } = await enrolled(h);
      const src = new FakeSource();
      src.sale('a', 500, ['submitted', 'completed']);
      const batch = {
        protocol: 1,
        journalId: src.id,
        after: 0,
        upTo: 2,
        events: src.eventsSince(0).map((e) => ({ seq: e.seq, at: e.at, event: { paymentId: e.operationId, seq: e.seq, durable: true, type: 'state' } })),
        payments: [],
      };
      const r1 = await post(h, credential, batch);
      expect(await r1.json()).toEqual({ ackedSeq: 2, duplicates: 0 });
      const r2 = await post(h, credential, batch);
      expect(await r2.json()).toEqual({ ackedSeq: 2, duplicates: 2 });
      const gap = await post(h, credential, { ...batch, after: 5, upTo: 6, events: [] });
      expect(gap.status).toBe(409);
      expect(await gap.json()).toMatchObject({ error: { code: 'gap', path: 'after' }, ackedSeq: 2 });
      const [n] = await h.db.query<{ n: unknown }>('SELECT count(*) AS n FROM hub_events WHERE daemon_id = $1', [daemonId]);
      expect(int(n!.n)).toBe(2);
    });

    it('bad batches get a typed error naming the field, and a full PAN in a view is refused', async () => {
      const h = await open();
      const { credential } = await enrolled(h);
      const src = new FakeSource();
      src.sale('a', 500, ['completed']);
      const p = { ...src.view('a'), paymentId: 'a', host: {} };
      const base = { protocol: 1, journalId: src.id, after: 0, upTo: 0, events: [], payments: [] };
      const cases: [unknown, string][] = [
        [{ ...base, protocol: 9 }, 'protocol'],
        [{ ...base, upTo: -1 }, 'upTo'],
        [{ ...base, upTo: 3, events: [{ seq: 2, at: 'x', event: { type: 'state' } }] }, 'events[0].at'],
        [{ ...base, payments: [{ ...p, amount: 1.5 }] }, 'payments[0].amount'],
        [{ ...base, payments: [{ ...p, card: { panDisplay: '6222021234567890123' } }] }, 'payments[0].card.panDisplay'],
      ];
      for (const [body, path] of cases) {
        const res = await post(h, credential, body);
        expect(res.status, path).toBe(400);
        expect(((await res.json()) as { error: { path: string } }).error.path).toBe(path);
      }
      const bad = await fetch(`${h.url}/v1/ingest`, { method: 'POST', headers: { authorization: 'Bearer nope' }, body: '{}' });
      expect(bad.status).toBe(401);
    });

    it('a revoked daemon is refused and its link stops, saying so', async () => {
      const h = await open();
      const { daemonId, credential } = await enrolled(h);
      const src = new FakeSource();
      src.sale('a', 500, ['completed']);
      const link = new HubLink({ url: h.url, credential, source: src, ...FAST });
      links.push(link);
      link.start();
      await until(() => link.status().ackedSeq === 1);
      expect(await revokeDaemon(h.db, daemonId)).toBe(true);
      src.sale('b', 700, ['completed']);
      link.kick();
      await until(() => link.status().state === 'revoked');
      expect(link.status().outboxDepth).toBe(1);
    });

    it('a link that was offline catches up in order when the hub comes back, losing and doubling nothing', async () => {
      const h = await open();
      const { daemonId, credential } = await enrolled(h);
      const port = h.port;
      const src = new FakeSource();
      const link = new HubLink({ url: h.url, credential, source: src, batchSize: 100, ...FAST });
      links.push(link);
      link.start();
      src.sale('first', 100, ['completed']);
      await until(() => link.status().ackedSeq === 1);
      // The hub goes away; the laptop keeps taking payments.
      await new Promise<void>((r) => h.server.close(() => r()));
      h.server.closeAllConnections();
      for (let i = 0; i < 300; i++) src.sale(`off${i}`, 1000 + i, ['submitted', 'completed']);
      await until(() => link.status().state === 'offline');
      expect(link.status().outboxDepth).toBe(600);
      // Back, on the same port.
      await new Promise<void>((r) => h.server.listen(port, '127.0.0.1', () => r()));
      await until(() => link.status().ackedSeq === 601, 15_000);
      const [n] = await h.db.query<{ n: unknown; p: unknown }>(
        'SELECT (SELECT count(*) FROM hub_events WHERE daemon_id = $1) AS n, (SELECT count(*) FROM hub_payments WHERE daemon_id = $1) AS p',
        [daemonId],
      );
      expect(int(n!.n)).toBe(601);
      expect(int(n!.p)).toBe(301);
    });

    it('back-pressure: a busy hub answers 503 with retry-after and the link waits, then delivers', async () => {
      const h = await open({ maxInFlight: 0 });
      const { credential } = await enrolled(h);
      const res = await post(h, credential, {});
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      const src = new FakeSource();
      src.sale('a', 500, ['completed']);
      const link = new HubLink({ url: h.url, credential, source: src, ...FAST });
      links.push(link);
      link.start();
      await until(() => link.status().state === 'busy');
      expect(h.stats.busy).toBeGreaterThan(1);
    });
  });
}

function health() {
  return {
    version: 'test-1',
    startedAt: new Date().toISOString(),
    terminals: [{ terminalId: 'T0000001', state: 'idle' as const, batteryPercent: 80 }],
    pending: {},
    needsAttention: 0,
    backlog: {},
  };
}
