/**
 * The fleet dashboard (issue 21 item 4, and the dashboard login of item 6) against real ingestion: laptops
 * stream through the real HubLink from journal-like sources; the dashboard's JSON, pages and live stream
 * are read over HTTP with a session from the login form, on PGlite and on a PostgreSQL server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HubLink, type HubHealth } from '../../src/api/index.js';
import type { OperationView } from '../../src/engine/index.js';
import { dashboardRoutes } from '../../src/hub/dashboard/routes.js';
import { compareVersions, esc, money } from '../../src/hub/dashboard/format.js';
import type { FleetSnapshot } from '../../src/hub/dashboard/snapshot.js';
import type { Timeline } from '../../src/hub/dashboard/timeline.js';
import {
  createEnrolCode,
  newAdminToken,
  startHubService,
  type HubDb,
  type HubService,
} from '../../src/hub/index.js';
import { FakeSource, view } from './fake-source.js';
import { STORES, freshDb } from './hub-db.js';

const FAST = { pollMs: 20, healthMs: 50, backoffInitialMs: 20, backoffMaxMs: 100, requestTimeoutMs: 2000 };
const ADMIN = { name: 'admin', password: 'correct horse battery' };
const TODAY = new Date().toISOString().slice(0, 10);

async function until(check: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

type Health = Omit<HubHealth, 'at' | 'outboxDepth'>;

function health(h: Partial<Health> & Pick<Health, 'terminals'>): Health {
  return {
    version: '1.4.2',
    startedAt: new Date().toISOString(),
    pending: {},
    needsAttention: 0,
    backlog: {},
    ...h,
  };
}

/** An operation of any kind through its states (FakeSource only makes sales). */
function op(
  src: FakeSource,
  id: string,
  kind: OperationView['kind'],
  amount: number,
  states: string[],
  originalId: string | null = null,
): void {
  for (const state of states) {
    const at = new Date(Date.parse(`${TODAY}T10:00:00Z`) + src.events.length * 1000).toISOString();
    src.ops.set(id, { ...view(id, amount, state, at, { date: TODAY }), kind, originalId });
    src.events.push({
      seq: src.events.length + 1,
      operationId: id,
      type: 'operation.state',
      data: { state, kind, amount },
      at,
    });
  }
}

const cookieOf = (res: Response): string => (res.headers.get('set-cookie') ?? '').split(';')[0]!;

for (const store of STORES) {
  describe.skipIf(store.skip)(`fleet dashboard (${store.name})`, () => {
    let db: HubDb | undefined;
    let hub: HubService | undefined;
    const links: HubLink[] = [];
    afterEach(async () => {
      for (const l of links.splice(0)) await l.stop();
      await hub?.close();
      await db?.close();
      hub = undefined;
      db = undefined;
    });

    const open = async (): Promise<HubService> => {
      db = await freshDb(store.name);
      hub = await startHubService({
        db,
        admin: ADMIN,
        routes: dashboardRoutes({ onlineWindowMs: 60_000, timeZone: 'UTC', pollMs: 50 }),
      });
      return hub;
    };

    const login = async (h: HubService): Promise<string> => {
      const res = await fetch(`${h.url}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(ADMIN),
      });
      expect(res.status).toBe(200);
      return cookieOf(res);
    };

    const get = (h: HubService, path: string, cookie?: string) =>
      fetch(`${h.url}${path}`, { redirect: 'manual', headers: cookie ? { cookie } : {} });
    const postJson = (
      h: HubService,
      path: string,
      body: unknown,
      cookie?: string,
      headers: Record<string, string> = {},
    ) =>
      fetch(`${h.url}${path}`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}), ...headers },
        body: JSON.stringify(body),
      });
    const fleet = async (h: HubService, cookie: string): Promise<FleetSnapshot> => {
      const res = await get(h, '/api/fleet', cookie);
      expect(res.status).toBe(200);
      return (await res.json()) as FleetSnapshot;
    };

    /** Enrols a laptop (its name as the daemon sends it) and streams `src` through a real HubLink. */
    async function laptop(
      h: HubService,
      storeName: string,
      name: string,
      src: FakeSource,
      hl?: () => Health,
    ): Promise<{ daemonId: string; credential: string; link: HubLink }> {
      const { code } = await createEnrolCode(h.db, { store: storeName });
      const res = await fetch(`${h.url}/v1/enrol`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code, name, terminalIds: ['T0000001'], version: '1.4.2' }),
      });
      expect(res.status).toBe(201);
      const { daemonId, credential } = (await res.json()) as { daemonId: string; credential: string };
      const link = new HubLink({
        url: h.url,
        credential,
        source: src,
        ...FAST,
        ...(hl ? { health: hl } : {}),
      });
      links.push(link);
      link.start();
      return { daemonId, credential, link };
    }

    it('login and logout: pages redirect, JSON answers 401, a bad password is refused, the session opens everything', async () => {
      const h = await open();
      const page = await get(h, '/');
      expect(page.status).toBe(303);
      expect(page.headers.get('location')).toBe('/login?next=%2F');
      const timeline = await get(h, '/payments/d_1/p%201?x=1');
      expect(timeline.headers.get('location')).toBe(
        `/login?next=${encodeURIComponent('/payments/d_1/p%201?x=1')}`,
      );
      for (const path of ['/api/fleet', '/api/stream', '/api/payments/d_1/p1']) {
        const res = await get(h, path);
        expect(res.status, path).toBe(401);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
      }
      expect((await postJson(h, '/api/enrol-codes', { store: 'X' })).status).toBe(401);
      expect((await postJson(h, '/api/daemons/d_1/revoke', {})).status).toBe(401);

      const form = await get(h, '/login?next=%2Fpayments%2Fa%2Fb');
      expect(form.status).toBe(200);
      expect(form.headers.get('content-security-policy')).toContain("script-src 'self'");
      const html = await form.text();
      expect(html).toContain('<form method="post" action="/login"');
      expect(html).toContain('value="/payments/a/b"');

      // A bad password: the form shows it, JSON says so, no cookie either way.
      const badForm = await fetch(`${h.url}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ name: 'admin', password: 'wrong password', next: '/' }).toString(),
      });
      expect(badForm.status).toBe(401);
      expect(badForm.headers.get('set-cookie')).toBeNull();
      expect(await badForm.text()).toContain('Wrong name or password.');
      const badJson = await postJson(h, '/login', { name: 'nobody', password: 'whatever-long' });
      expect(badJson.status).toBe(401);
      expect(badJson.headers.get('set-cookie')).toBeNull();

      // A login from another site is refused.
      expect((await postJson(h, '/login', ADMIN, undefined, { origin: 'https://evil.example' })).status).toBe(
        403,
      );

      // The form logs in and goes to `next` (a path on the hub only).
      const ok = await fetch(`${h.url}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: h.url },
        body: new URLSearchParams({ ...ADMIN, next: '//evil.example/x' }).toString(),
      });
      expect(ok.status).toBe(303);
      expect(ok.headers.get('location')).toBe('/');
      expect(ok.headers.get('set-cookie')).toMatch(/HttpOnly; SameSite=Strict/);
      const cookie = cookieOf(ok);
      const dash = await get(h, '/', cookie);
      expect(dash.status).toBe(200);
      const body = await dash.text();
      expect(body).toContain('posbridge fleet');
      expect(body).toContain('<span class="user">admin</span>');
      expect((await get(h, '/api/fleet', cookie)).status).toBe(200);
      // Logged in already: the login page sends you on.
      expect((await get(h, '/login?next=/api/fleet', cookie)).headers.get('location')).toBe('/api/fleet');

      // The admin token works for JSON too; a forged cookie does not.
      const token = await newAdminToken(h.db);
      expect(
        (await fetch(`${h.url}/api/fleet`, { headers: { authorization: `Bearer ${token}` } })).status,
      ).toBe(200);
      // (A character well inside the MAC: base64url's last character carries padding bits.)
      const i = cookie.length - 10;
      const forged = cookie.slice(0, i) + (cookie[i] === 'A' ? 'B' : 'A') + cookie.slice(i + 1);
      expect((await get(h, '/api/fleet', forged)).status).toBe(401);

      // Logout clears the cookie.
      const out = await fetch(`${h.url}/logout`, { method: 'POST', redirect: 'manual', headers: { cookie } });
      expect(out.status).toBe(303);
      expect(out.headers.get('location')).toBe('/login');
      const cleared = cookieOf(out);
      expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0/);
      expect((await get(h, '/api/fleet', cleared)).status).toBe(401);
      expect((await get(h, '/', cleared)).status).toBe(303);
    });

    it('the snapshot: laptops online and offline, totals to the fen, unknown listed first, backlogs, battery and firmware', async () => {
      const h = await open();
      const cookie = await login(h);

      const a = new FakeSource();
      a.sale('p1', 100_00, ['submitted', 'authorizing', 'completed'], { date: TODAY });
      a.sale('p2', 2_345_67, ['submitted', 'completed'], { date: TODAY });
      a.sale('p3', 1, ['completed'], { date: TODAY });
      a.sale('u1', 5_00, ['submitted', 'authorizing', 'unknown'], { date: TODAY });
      a.sale('d1', 77_00, ['submitted', 'declined'], { date: TODAY });
      a.sale('v1', 9_99, ['completed'], { date: TODAY });
      op(a, 'vd1', 'void', 9_99, ['submitted', 'completed'], 'v1');
      op(a, 'r1', 'refund', 50_01, ['submitted', 'completed'], 'p1');
      a.sale('old', 1_000_00, ['completed'], { date: '2020-01-02' }); // not today
      const la = await laptop(h, 'SH-01', 'Pudong till 1', a, () =>
        health({
          terminals: [
            { terminalId: 'T0000001', state: 'idle', batteryPercent: 15, firmware: '1.2.0', model: 'P1' },
          ],
          pending: { unknown: 1 },
          backlog: { reversal: 2, advice: 3 },
        }),
      );
      const b = new FakeSource();
      b.sale('big', 12_345_678_90, ['completed'], { date: TODAY, terminalId: 'T0000002' });
      b.sale('n1', 3_00, ['submitted', 'needs_attention'], { date: TODAY, terminalId: 'T0000002' });
      b.sale('a1', 4_00, ['submitted', 'authorizing'], { date: TODAY, terminalId: 'T0000002' });
      const lb = await laptop(h, 'BJ-02', 'Chaoyang till 7', b, () =>
        health({
          version: '1.5.0',
          terminals: [
            { terminalId: 'T0000002', state: 'busy', batteryPercent: 90, firmware: '1.10.0', model: 'P1' },
          ],
          pending: { authorizing: 1 },
          needsAttention: 1,
          backlog: { reversal: 0, advice: 0 },
        }),
      );
      const c = new FakeSource();
      c.sale('c1', 1_00, ['completed'], { date: TODAY, terminalId: 'T0000003' });
      const lc = await laptop(h, 'SH-01', 'Pudong till 2', c, () => health({ terminals: [] }));
      await until(() => [la, lb, lc].every((l, i) => l.link.status().ackedSeq === [a, b, c][i]!.lastSeq()));
      await until(async () => {
        const rows = await h.db.query<{ n: unknown }>('SELECT id FROM hub_daemons WHERE health IS NOT NULL');
        return rows.length === 3;
      });
      // Laptop C goes quiet: its link stops and the hub last heard from it five minutes ago.
      await lc.link.stop();
      await h.db.query("UPDATE hub_daemons SET last_seen_at = now() - interval '5 minutes' WHERE id = $1", [
        lc.daemonId,
      ]);

      const s = await fleet(h, cookie);
      expect(s.today).toBe(TODAY);
      expect(s.onlineWindowSeconds).toBe(60);
      const byName = new Map(s.laptops.map((l) => [l.name, l]));
      expect(byName.get('Pudong till 1')).toMatchObject({
        status: 'online',
        store: 'SH-01',
        version: '1.4.2',
        daemonId: la.daemonId,
      });
      expect(byName.get('Chaoyang till 7')).toMatchObject({
        status: 'online',
        store: 'BJ-02',
        version: '1.5.0',
      });
      expect(byName.get('Pudong till 2')).toMatchObject({ status: 'offline', store: 'SH-01' });
      expect(Date.parse(byName.get('Pudong till 2')!.lastSeenAt!)).toBeLessThan(Date.now() - 4 * 60_000);
      expect(byName.get('Pudong till 1')!.backlog).toEqual({ reversal: 2, advice: 3 });
      expect(byName.get('Pudong till 1')!.outboxDepth).toBe(0);

      expect(s.summary).toMatchObject({
        laptops: 3,
        online: 2,
        offline: 1,
        revoked: 0,
        unknown: 1,
        needsAttention: 1,
        notFinal: 2, // u1 (unknown) and a1 (authorizing)
        backlog: { reversal: 2, advice: 3 },
        lowBattery: 1,
        oldFirmware: 1,
      });
      // unknown first, then needs_attention, then the rest not final.
      expect(s.attention.map((p) => [p.paymentId, p.state])).toEqual([
        ['u1', 'unknown'],
        ['n1', 'needs_attention'],
        ['a1', 'authorizing'],
      ]);
      expect(s.attention[0]).toMatchObject({
        daemonId: la.daemonId,
        laptop: 'Pudong till 1',
        store: 'SH-01',
        amount: 5_00,
        currency: 'CNY',
      });

      const readers = new Map(s.readers.map((r) => [r.terminalId, r]));
      expect(readers.get('T0000001')).toMatchObject({
        batteryPercent: 15,
        lowBattery: true,
        firmware: '1.2.0',
        oldFirmware: true,
      });
      expect(readers.get('T0000002')).toMatchObject({
        batteryPercent: 90,
        lowBattery: false,
        firmware: '1.10.0',
        oldFirmware: false,
      });

      // Totals: SH-01 = p1 + p2 + p3 + c1 (v1 voided, d1 declined, `old` another day) − r1.
      expect(s.totals).toEqual([
        {
          store: 'BJ-02',
          currency: 'CNY',
          sales: { count: 1, amount: 12_345_678_90 },
          refunds: { count: 0, amount: 0 },
          voided: { count: 0, amount: 0 },
          net: 12_345_678_90,
        },
        {
          store: 'SH-01',
          currency: 'CNY',
          sales: { count: 4, amount: 100_00 + 2_345_67 + 1 + 1_00 },
          refunds: { count: 1, amount: 50_01 },
          voided: { count: 1, amount: 9_99 },
          net: 100_00 + 2_345_67 + 1 + 1_00 - 50_01,
        },
      ]);

      // The page shows the same, formatted exactly, with links to the timelines.
      const html = await (await get(h, '/', cookie)).text();
      expect(html).toContain('¥2,396.67'); // SH-01 net
      expect(html).toContain('¥12,345,678.90'); // BJ-02 net
      expect(html).toContain('¥12,348,075.57'); // all stores
      expect(html).toContain(`href="/payments/${la.daemonId}/u1"`);
      expect(html).toMatch(new RegExp(`data-daemon="${lc.daemonId}" data-status="offline"`));
      expect(html).toMatch(/data-battery="15"/);
      expect(html).toContain('data-lane="reversal">2<');
      // No card data beyond the masked PAN in what the dashboard answers.
      const json = JSON.stringify(s) + html;
      expect(json).toContain('622202******1234');
      // Daemon ids are random hex and may hold 13 digits in a row (about 1 run in 100 did): not card data.
      const scrubbed = json.replace(/\bd_[0-9a-f]{16}\b/g, 'd_<id>');
      expect(scrubbed.match(/[^]{0,40}\d{13,19}[^]{0,20}/g) ?? [], 'digit runs as long as a card number').toEqual([]);
    });

    it('a timeline lists the payment’s events in journal order, as a page and as JSON', async () => {
      const h = await open();
      const cookie = await login(h);
      const src = new FakeSource();
      src.sale('other', 1_00, ['submitted', 'completed'], { date: TODAY });
      src.sale('u1', 5_00, ['created', 'card_read', 'authorizing', 'unknown'], {
        date: TODAY,
        stan: '000123',
      });
      const l = await laptop(h, 'SH-01', 'till', src);
      await until(() => l.link.status().ackedSeq === src.lastSeq());

      const res = await get(h, `/api/payments/${l.daemonId}/u1`, cookie);
      expect(res.status).toBe(200);
      const t = (await res.json()) as Timeline;
      expect(t.daemon).toEqual({ id: l.daemonId, name: 'till', store: 'SH-01' });
      expect(t.payment).toMatchObject({
        paymentId: 'u1',
        state: 'unknown',
        amount: 5_00,
        terminalId: 'T0000001',
      });
      expect(t.events.map((e) => e.seq)).toEqual([3, 4, 5, 6]);
      expect(t.events.map((e) => e.event.state)).toEqual(['created', 'card_read', 'authorizing', 'unknown']);

      const page = await get(h, `/payments/${l.daemonId}/u1`, cookie);
      expect(page.status).toBe(200);
      const html = await page.text();
      const at = [3, 4, 5, 6].map((seq) => html.indexOf(`data-seq="${seq}"`));
      expect(at.every((i) => i > 0)).toBe(true);
      expect([...at].sort((x, y) => x - y)).toEqual(at);
      expect(html.indexOf('>card_read<')).toBeLessThan(html.indexOf('>authorizing<'));
      expect(html).toContain('id="payment-state">unknown<');
      expect(html).toContain('000123');
      expect(html).toContain('622202******1234');

      expect((await get(h, `/api/payments/${l.daemonId}/nope`, cookie)).status).toBe(404);
      expect((await get(h, `/payments/${l.daemonId}/nope`, cookie)).status).toBe(404);
    });

    it('enrol codes and revocation through the API', async () => {
      const h = await open();
      const cookie = await login(h);
      expect((await postJson(h, '/api/enrol-codes', { store: '' }, cookie)).status).toBe(400);
      expect(
        (
          await postJson(h, '/api/enrol-codes', { store: 'GZ-03' }, cookie, {
            origin: 'https://evil.example',
          })
        ).status,
      ).toBe(403);
      const made = await postJson(h, '/api/enrol-codes', { store: 'GZ-03', name: 'till 9' }, cookie);
      expect(made.status).toBe(201);
      const {
        code,
        store: codeStore,
        expiresAt,
      } = (await made.json()) as { code: string; store: string; expiresAt: string };
      expect(code).toMatch(/^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$/);
      expect(codeStore).toBe('GZ-03');
      expect(Date.parse(expiresAt)).toBeGreaterThan(Date.now());

      const enrolled = await fetch(`${h.url}/v1/enrol`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code, terminalIds: ['T0000009'], version: '1.4.2' }),
      });
      expect(enrolled.status).toBe(201);
      const { daemonId, credential } = (await enrolled.json()) as { daemonId: string; credential: string };
      let s = await fleet(h, cookie);
      expect(s.laptops).toEqual([
        expect.objectContaining({
          daemonId,
          name: 'till 9',
          store: 'GZ-03',
          status: 'offline',
          lastSeenAt: null,
          terminalIds: ['T0000009'],
        }),
      ]);

      expect((await postJson(h, '/api/daemons/d_nobody/revoke', {}, cookie)).status).toBe(404);
      const r1 = await postJson(h, `/api/daemons/${daemonId}/revoke`, {}, cookie);
      expect(r1.status).toBe(200);
      expect(await r1.json()).toEqual({ daemonId, revoked: true, alreadyRevoked: false });
      const r2 = await postJson(h, `/api/daemons/${daemonId}/revoke`, {}, cookie);
      expect(await r2.json()).toEqual({ daemonId, revoked: true, alreadyRevoked: true });
      s = await fleet(h, cookie);
      expect(s.laptops[0]).toMatchObject({ status: 'revoked' });
      expect(s.summary).toMatchObject({ laptops: 1, online: 0, offline: 0, revoked: 1 });
      const refused = await fetch(`${h.url}/v1/cursor?journal=jabcdefgh123`, {
        headers: { authorization: `Bearer ${credential}` },
      });
      expect(refused.status).toBe(401);
      // The code was single use.
      const again = await fetch(`${h.url}/v1/enrol`, {
        method: 'POST',
        body: JSON.stringify({ code, terminalIds: [], version: 'x' }),
      });
      expect(again.status).toBe(403);
    });

    it('a hostile laptop or store name is shown escaped, on the page and in the live stream', async () => {
      const h = await open();
      const cookie = await login(h);
      const evil = `<img src=x onerror=alert(1)>"'&`;
      const evilStore = '<script>alert("store")</script>';
      const src = new FakeSource();
      src.sale('x<b>1', 1_00, ['submitted', 'unknown'], { date: TODAY });
      const l = await laptop(h, evilStore, evil, src, () =>
        health({
          version: '<i>v</i>',
          terminals: [
            { terminalId: 'T<1>', state: 'idle', firmware: '"><svg onload=alert(2)>', batteryPercent: 50 },
          ],
        }),
      );
      await until(() => l.link.status().ackedSeq === src.lastSeq());
      await until(async () => (await fleet(h, cookie)).readers.length === 1);

      const html = await (await get(h, '/', cookie)).text();
      expect(html).not.toContain('<img src=x');
      expect(html).not.toContain('<script>alert');
      expect(html).not.toContain('<svg');
      expect(html).not.toContain('<i>v</i>');
      expect(html).not.toContain('x<b>1');
      expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;');
      expect(html).toContain('&lt;script&gt;alert(&quot;store&quot;)&lt;/script&gt;');
      expect(html).toContain(`href="/payments/${l.daemonId}/x%3Cb%3E1"`);
      // The only scripts are the page's own, from the hub.
      expect(html.match(/<script/g)).toHaveLength(1);

      const page = await (
        await get(h, `/payments/${l.daemonId}/${encodeURIComponent('x<b>1')}`, cookie)
      ).text();
      expect(page).not.toContain('<img src=x');
      expect(page).toContain('x&lt;b&gt;1');

      // The live stream carries the same escaped fragments.
      const ctl = new AbortController();
      const res = await fetch(`${h.url}/api/stream`, { headers: { cookie }, signal: ctl.signal });
      const first = await nextEvent(res.body!.getReader());
      ctl.abort();
      expect(first.event).toBe('snapshot');
      const text = JSON.stringify(first.data);
      expect(text).not.toContain('<img src=x');
      expect(text).toContain('&lt;img src=x onerror=alert(1)&gt;');
    });

    it('the live stream pushes the sections that changed when a payment arrives', async () => {
      const h = await open();
      const cookie = await login(h);
      const src = new FakeSource();
      src.sale('first', 1_00, ['completed'], { date: TODAY });
      const l = await laptop(h, 'SH-01', 'till', src);
      await until(() => l.link.status().ackedSeq === src.lastSeq());

      const ctl = new AbortController();
      const res = await fetch(`${h.url}/api/stream`, { headers: { cookie }, signal: ctl.signal });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const reader = res.body!.getReader();
      try {
        const first = await nextEvent(reader);
        expect(first.event).toBe('snapshot');
        const sections = (first.data as { sections: Record<string, string> }).sections;
        expect(Object.keys(sections).sort()).toEqual([
          'attention',
          'backlog',
          'laptops',
          'readers',
          'recent',
          'summary',
          'totals',
        ]);
        expect(sections['recent']).toContain('data-payment="first"');

        src.sale('second', 2_50, ['submitted', 'unknown'], { date: TODAY });
        l.link.kick();
        let update: { sections: Record<string, string>; summary: FleetSnapshot['summary'] } | undefined;
        while (!update?.sections['recent']?.includes('data-payment="second"')) {
          const e = await nextEvent(reader);
          expect(e.event).toBe('snapshot');
          update = e.data as typeof update;
        }
        expect(update.summary.unknown).toBe(1);
        expect(update.sections['attention']).toContain('data-payment="second" data-state="unknown"');
        // Unchanged sections are not sent again.
        expect(update.sections['readers']).toBeUndefined();
      } finally {
        ctl.abort();
      }
    });
  });
}

/** The next Server-Sent Event (comments skipped). */
const buffers = new WeakMap<object, string>();
async function nextEvent(
  reader: ReadableStreamDefaultReader<Uint8Array>,
): Promise<{ event: string; data: unknown }> {
  const dec = new TextDecoder();
  let buf = buffers.get(reader) ?? '';
  for (;;) {
    const end = buf.indexOf('\n\n');
    if (end >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      buffers.set(reader, buf);
      const lines = block.split('\n');
      const event = lines.find((x) => x.startsWith('event: '))?.slice(7);
      const data = lines
        .filter((x) => x.startsWith('data: '))
        .map((x) => x.slice(6))
        .join('\n');
      if (event) return { event, data: JSON.parse(data) };
      continue;
    }
    const { value, done } = await reader.read();
    if (done) throw new Error('the stream ended');
    buf += dec.decode(value, { stream: true });
  }
}

describe('dashboard formatting', () => {
  it('money is exact from integer fen', () => {
    expect(money(0)).toBe('¥0.00');
    expect(money(5)).toBe('¥0.05');
    expect(money(-5, 'CNY')).toBe('-¥0.05');
    expect(money(123456789012)).toBe('¥1,234,567,890.12');
    expect(money(Number.MAX_SAFE_INTEGER)).toBe('¥90,071,992,547,409.91');
    expect(money(1999, 'USD')).toBe('USD 19.99');
    expect(() => money(1.5)).toThrow(TypeError);
  });
  it('escapes every HTML-special character', () => {
    expect(esc(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    expect(esc(null)).toBe('');
  });
  it('compares firmware versions part by part', () => {
    expect(compareVersions('1.10.0', '1.9.9')).toBe(1);
    expect(compareVersions('1.2', '1.2.0')).toBe(-1);
    expect(compareVersions('2.0', '2.0')).toBe(0);
  });
});
