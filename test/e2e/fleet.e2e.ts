/**
 * The fleet dashboard in Debian's chromium: a hub on PGlite (started here, with a dashboard user) fed by
 * three laptops, each a real HubLink streaming a journal-like source. The page is used as operations
 * would: log in (a wrong password first), see the laptops, watch a payment that went `unknown` appear
 * without a reload, see a laptop that stops sending go offline, make an enrolment code, revoke a laptop,
 * open a payment's timeline. Every wait is on a DOM state, never a sleep. Screenshots:
 * test-results/e2e/fleet-….
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed } from 'vitest';
import { HubLink, type HubHealth } from '../../src/api/index.js';
import { dashboardRoutes } from '../../src/hub/dashboard/routes.js';
import { createEnrolCode, startHubService, type HubService } from '../../src/hub/index.js';
import { FakeSource } from '../hub/fake-source.js';
import { launchBrowser, pageErrors, screenshot, type Browser } from './browser.js';

// The in-page callbacks run in the browser; the project compiles without the DOM library.
interface PageElement {
  dataset: Record<string, string | undefined>;
  textContent: string | null;
}
declare const document: {
  body: PageElement;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement> & Iterable<PageElement>;
};
declare const window: { fleetMarker?: string };

const ADMIN = { name: 'admin', password: 'fleet-e2e-password' };
const TODAY = new Date().toISOString().slice(0, 10);
const LINK_TIMERS = {
  pollMs: 50,
  healthMs: 300,
  backoffInitialMs: 50,
  backoffMaxMs: 200,
  requestTimeoutMs: 2000,
};

interface Laptop {
  name: string;
  store: string;
  daemonId: string;
  src: FakeSource;
  link: HubLink;
}

let hub: HubService;
let browser: Browser;
let page: Page;
const laptops: Laptop[] = [];
const HOSTILE = `<img src=x onerror="alert('name')">`;
const alerts: string[] = [];

async function addLaptop(
  name: string,
  store: string,
  tid: string,
  battery: number,
  firmware: string,
  sales = true,
): Promise<Laptop> {
  const { code } = await createEnrolCode(hub.db, { store });
  const res = await fetch(`${hub.url}/v1/enrol`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code, name, terminalIds: [tid], version: '1.4.2' }),
  });
  const { daemonId, credential } = (await res.json()) as { daemonId: string; credential: string };
  const src = new FakeSource();
  if (sales) {
    src.sale(`${tid}-s1`, 128_00, ['created', 'authorizing', 'completed'], {
      date: TODAY,
      terminalId: tid,
      stan: '000001',
    });
    src.sale(`${tid}-s2`, 19_99, ['created', 'authorizing', 'completed'], {
      date: TODAY,
      terminalId: tid,
      stan: '000002',
    });
  }
  const health = (): Omit<HubHealth, 'at' | 'outboxDepth'> => ({
    version: '1.4.2',
    startedAt: new Date().toISOString(),
    terminals: [
      { terminalId: tid, state: 'idle', kind: 'reader', model: 'P1', batteryPercent: battery, firmware },
    ],
    pending: {},
    needsAttention: 0,
    backlog: { reversal: tid.endsWith('2') ? 1 : 0, advice: 0 },
  });
  const link = new HubLink({ url: hub.url, credential, source: src, health, ...LINK_TIMERS });
  link.start();
  const l = { name, store, daemonId, src, link };
  laptops.push(l);
  return l;
}

const rowOf = (l: Laptop) => `[data-section="laptops"] tr[data-daemon="${l.daemonId}"]`;

beforeAll(async () => {
  hub = await startHubService({
    admin: ADMIN,
    // A laptop is offline 3 s after its last word (90 s in production); the page is fed every 200 ms.
    routes: dashboardRoutes({ onlineWindowMs: 3_000, pollMs: 200, timeZone: 'UTC' }),
  });
  await addLaptop('Pudong till 1', 'Shanghai Pudong', 'T0000001', 76, '2.1.0');
  await addLaptop('Pudong till 2', 'Shanghai Pudong', 'T0000002', 12, '2.0.3');
  await addLaptop('Chaoyang till 1', 'Beijing Chaoyang', 'T0000003', 54, '2.1.0');
  // Names come from laptops and operators: this one must show as text, never run.
  await addLaptop(HOSTILE, '<b>store</b>', 'T0000004', 88, '2.1.0', false);
  browser = await launchBrowser();
  page = await browser.newPage();
  page.on('dialog', (d) => {
    if (d.type() !== 'confirm') alerts.push(d.message());
  });
});

afterAll(async () => {
  expect(pageErrors(page)).toEqual([]);
  expect(alerts).toEqual([]);
  await browser?.close();
  for (const l of laptops) await l.link.stop();
  await hub?.close();
});

beforeEach((ctx) => {
  const name = ctx.task.name.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
  onTestFailed(async () => {
    await screenshot(page, `FAILED-fleet-${name}`).catch(() => undefined);
  });
});

describe('the fleet dashboard', () => {
  it('logs in through the page (a wrong password first) and shows every laptop online', async () => {
    await page.goto(`${hub.url}/`);
    await page.waitForSelector('form#login');
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.fill('input[name="name"]', ADMIN.name);
    await page.fill('input[name="password"]', 'not the password');
    await page.click('form#login button[type="submit"]');
    await page.waitForSelector('#login-error');
    expect(await page.textContent('#login-error')).toContain('Wrong name or password');

    await page.fill('input[name="password"]', ADMIN.password);
    await page.click('form#login button[type="submit"]');
    await page.waitForSelector('#live[data-state="live"]');
    expect(new URL(page.url()).pathname).toBe('/');
    for (const l of laptops) await page.waitForSelector(`${rowOf(l)}[data-status="online"]`);
    expect(await page.textContent(`${rowOf(laptops[0]!)} td.name`)).toContain('Pudong till 1');
    // The hostile name is text: no element was made of it.
    expect(await page.textContent(`${rowOf(laptops[3]!)} td.name`)).toContain(HOSTILE);
    expect(await page.$$('[data-section="laptops"] img')).toHaveLength(0);
    // Battery and firmware: till 2's reader is low and behind the fleet's newest firmware.
    await page.waitForSelector(
      '[data-section="readers"] tr[data-terminal="T0000002"][data-low-battery][data-old-firmware]',
    );
    // Today's totals per store, exact: two stores, Pudong = 2 × (128.00 + 19.99).
    await page.waitForSelector('[data-section="totals"] tr[data-store="Shanghai Pudong"][data-net="29598"]');
    expect(await page.textContent('[data-section="totals"] tr[data-store="Shanghai Pudong"] td.net')).toBe(
      '¥295.98',
    );
    expect(await page.textContent('[data-section="totals"] tfoot td.net')).toBe('¥443.97');
    // The reversal backlog of till 2.
    await page.waitForSelector(
      `[data-section="backlog"] tr[data-daemon="${laptops[1]!.daemonId}"] td[data-lane="reversal"]`,
    );
    // The reconciliation panel has asked the hub (a 404 until central reconciliation answers).
    await page.waitForSelector('#recon[data-state="unavailable"], #recon[data-state="ready"]');
    await screenshot(page, 'fleet-1-laptops');
  });

  it('shows a payment that went unknown as it arrives, without a reload', async () => {
    await page.evaluate(() => {
      window.fleetMarker = 'no reload';
    });
    const l = laptops[2]!;
    l.src.sale('T0000003-u1', 66_60, ['created', 'card_read', 'authorizing', 'unknown'], {
      date: TODAY,
      terminalId: 'T0000003',
      stan: '000003',
    });
    l.link.kick();
    await page.waitForSelector(
      '[data-section="attention"] tr[data-payment="T0000003-u1"][data-state="unknown"]',
    );
    await page.waitForSelector('[data-section="recent"] tr[data-payment="T0000003-u1"]');
    await page.waitForFunction(() => document.querySelector('[data-tile="unknown"] .v')?.textContent === '1');
    expect(await page.evaluate(() => window.fleetMarker)).toBe('no reload');
    expect(await page.textContent('[data-section="attention"] tr[data-payment="T0000003-u1"]')).toContain(
      '¥66.60',
    );
    await screenshot(page, 'fleet-2-unknown-payment');
  });

  it('shows a laptop that stops sending going offline', async () => {
    const l = laptops[0]!;
    await l.link.stop();
    await page.waitForSelector(`${rowOf(l)}[data-status="offline"]`, { timeout: 15_000 });
    await page.waitForFunction(() => document.querySelector('[data-tile="offline"] .v')?.textContent === '1');
    // The others are still online, and the page never reloaded.
    for (const o of laptops.slice(1)) expect(await page.getAttribute(rowOf(o), 'data-status')).toBe('online');
    expect(await page.evaluate(() => window.fleetMarker)).toBe('no reload');
    await screenshot(page, 'fleet-3-laptop-offline');
  });

  it('makes an enrolment code and revokes a laptop', async () => {
    await page.fill('#enrol input[name="store"]', 'Guangzhou Tianhe');
    await page.fill('#enrol input[name="name"]', 'Tianhe till 1');
    await page.click('#enrol button[type="submit"]');
    await page.waitForSelector('#enrol-code');
    expect(await page.textContent('#enrol-code')).toMatch(/^[A-Z0-9]{4}(-[A-Z0-9]{4}){3}$/);

    const l = laptops[1]!;
    page.once('dialog', (d) => void d.accept());
    await page.click(`${rowOf(l)} button[data-revoke]`);
    await page.waitForSelector(`${rowOf(l)}[data-status="revoked"]`);
    await waitFor(() => l.link.status().state === 'revoked');
  });

  it('opens a payment’s timeline from the list', async () => {
    await Promise.all([
      page.waitForURL(/\/payments\//),
      page.click('[data-section="attention"] tr[data-payment="T0000003-u1"] a.timeline'),
    ]);
    await page.waitForSelector('#timeline tr[data-seq]');
    const states = await page.$$eval('#timeline tbody tr', (rows) =>
      rows.map((r) => (r as unknown as { children: ArrayLike<PageElement> }).children[3]!.textContent),
    );
    expect(states).toEqual(['created', 'card_read', 'authorizing', 'unknown']);
    expect(await page.textContent('#payment-state')).toBe('unknown');
    expect(await page.textContent('#payment')).toContain('622202******1234');
    await screenshot(page, 'fleet-4-timeline');
    // Back to the fleet, still logged in.
    await page.click('a[href="/"]');
    await page.waitForSelector('#live[data-state="live"]');
  });
});

async function waitFor(check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}
