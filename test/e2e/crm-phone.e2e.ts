/**
 * The demo CRM page at phone width (390 x 844) and in Chinese, in Debian's chromium against the demo
 * composition: no sideways scroll, the order's totals inside the screen, the reader's prompt visible
 * without scrolling while paying (a sticky bar) with the long host wait counted up, the receipt as a
 * paper slip with the signature on the merchant copy; the zh/en switch words a decline in Chinese with
 * its code kept; a reversed payment shows warning steps, not all green. Screenshots go to
 * test-results/e2e/ and are checked by layout metrics, not pixels.
 */
import { describe, expect, it } from 'vitest';
import { METHODS } from '../../src/api/schemas.js';
import { screenshot } from './browser.js';
import { useDemoPage } from './demo-page.js';

// The in-page callbacks run in the browser; the project compiles without the DOM library.
interface Box {
  top: number;
  bottom: number;
  left: number;
  right: number;
}
interface PageElement {
  scrollWidth: number;
  clientWidth: number;
  scrollHeight: number;
  textContent: string | null;
  dataset: Record<string, string | undefined>;
  getBoundingClientRect(): Box;
}
declare const document: {
  documentElement: PageElement & { lang: string };
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement> & Iterable<PageElement>;
};
declare const window: { innerWidth: number; innerHeight: number };
declare function getComputedStyle(el: unknown): { fontFamily: string };

const HAS_SIGNATURE = 'payment.signature' in METHODS;
const HAS_RECEIPT = 'receipt.get' in METHODS;
const PHONE = { width: 390, height: 844 };
const SNAKE = /[a-z0-9]_[a-z0-9]/i;
const HAN = /[\u4e00-\u9fff]/;

const ui = useDemoPage({
  name: 'phone',
  demo: {
    customerDelayMs: 40,
    // A lost answer becomes `unknown` after 3 s; a delayed one (2 s) still counts.
    hostResponseMs: 3000,
    logLevel: 'silent',
  },
});

// ------------------------------------------------------------------ page actions

/** The page at phone size, the long-wait notice after 500 ms, in `lang`. */
async function openPhone(lang: 'en' | 'zh' = 'en'): Promise<void> {
  await ui.page.setViewportSize(PHONE);
  await ui.page.goto(`${ui.base}/?waitNoticeMs=500`);
  await ui.loaded();
  await ui.page.click(`#lang button[data-lang="${lang}"]`);
  await ui.page.waitForSelector(`#lang button[data-lang="${lang}"][aria-pressed="true"]`);
}

async function fault(rule: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${ui.base}/sim/host/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(rule),
  });
  expect(res.ok).toBe(true);
}

async function clearFaults(): Promise<void> {
  await fetch(`${ui.base}/sim/host/faults`, { method: 'DELETE' });
}

async function setCard(card: string): Promise<void> {
  const res = await fetch(`${ui.base}/sim/reader/behaviour`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ card }),
  });
  expect(res.ok).toBe(true);
}

async function pay(amount: string): Promise<string> {
  return ui.started(async () => {
    await ui.page.fill('#pay-amount', amount);
    await ui.page.click('#pay-submit');
  });
}

/** Layout facts of the page as it is now. */
async function layout(): Promise<{ scrollWidth: number; innerWidth: number; innerHeight: number }> {
  return ui.page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    innerHeight: window.innerHeight,
  }));
}

/** An element's box in the viewport, and whether its content is cut (wider than its box). */
async function box(selector: string): Promise<Box & { clipped: boolean }> {
  return ui.page.$eval(selector, (el) => {
    const e = el as unknown as PageElement;
    const r = e.getBoundingClientRect();
    return {
      top: r.top,
      bottom: r.bottom,
      left: r.left,
      right: r.right,
      clipped: e.scrollWidth > e.clientWidth + 1,
    };
  });
}

async function expectInViewport(selector: string): Promise<void> {
  const b = await box(selector);
  const l = await layout();
  expect(b.left, `${selector} left`).toBeGreaterThanOrEqual(0);
  expect(b.right, `${selector} right`).toBeLessThanOrEqual(l.innerWidth);
  expect(b.top, `${selector} top`).toBeGreaterThanOrEqual(0);
  expect(b.bottom, `${selector} bottom`).toBeLessThanOrEqual(l.innerHeight);
  expect(b.bottom - b.top, `${selector} height`).toBeGreaterThan(0);
}

async function expectNoSidewaysScroll(): Promise<void> {
  const l = await layout();
  expect(l.scrollWidth).toBeLessThanOrEqual(l.innerWidth);
}

// ------------------------------------------------------------------ scenarios

describe('demo CRM page at phone width', () => {
  it('fits 390 px: no sideways scroll, totals inside the screen, the prompt stuck on top while paying', async () => {
    await openPhone('en');
    await clearFaults();
    await setCard('cup-credit-chip');
    await ui.chooseOrder('CAR-2024-0001');
    await expectNoSidewaysScroll();

    // The totals: the whole block inside the screen once scrolled to, no amount cut.
    await ui.page.locator('#order-totals').scrollIntoViewIfNeeded();
    await expectInViewport('#order-totals');
    for (const dd of ['#order-paid', '#order-refunded', '#order-due'])
      expect((await box(dd)).clipped, dd).toBe(false);
    expect(await ui.page.textContent('#order-due')).toBe('¥128,000.00');
    await screenshot(ui.page, 'phone-1-order');

    // The host takes 2 s: the sticky bar says so, counting up, wherever the page is scrolled.
    await fault({ action: 'delay', match: { mti: '0200' }, delayMs: 2000, times: 1 });
    const id = await pay('64000.00');
    await ui.page.waitForSelector('#live[data-waiting]');
    await ui.page.evaluate(() =>
      (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0),
    );
    await expectInViewport('#status-bar');
    const waiting = (await ui.page.textContent('#status-bar'))!;
    expect(waiting).toMatch(/Waiting for the bank… \d+ s — do not remove the card/);
    await screenshot(ui.page, 'phone-2-waiting-for-the-bank');
    // Scrolled down to the payments list: the bar is still on screen.
    await ui.page.locator('#order-payments').scrollIntoViewIfNeeded();
    await expectInViewport('#status-bar');
    await expectNoSidewaysScroll();

    await ui.waitForState(id, 'completed');
    await expectInViewport('#status-bar');
    expect(await ui.page.textContent('#bar-prompt')).toBe('Approved ¥64,000.00');
    expect(await ui.page.getAttribute('#status-bar', 'data-tone')).toBe('success');
    expect(await ui.page.getAttribute('#live [data-step="result"]', 'data-status')).toBe('done');
    await expectNoSidewaysScroll();

    if (!HAS_SIGNATURE || !HAS_RECEIPT) return;
    await ui.page.waitForSelector(`#sign[data-payment-id="${id}"]`);
    await ui.page.locator('#sign-pad').scrollIntoViewIfNeeded();
    await ui.sign();
    await ui.page.waitForSelector('#sign-status[data-status="stored"]');
    await ui.page.click(`${ui.row(id)} button[data-action="receipt"]`);
    await ui.page.waitForSelector(`#receipt[data-payment-id="${id}"][data-source="daemon"]`);
    await ui.page.click('#receipt button[data-copy="merchant"]');
    await ui.page.waitForSelector('#receipt button[data-copy="merchant"][aria-pressed="true"]');
    const frame = ui.page.frameLocator('#receipt-frame');
    const sig = frame.locator('.signature img');
    await sig.waitFor();
    // A paper slip: monospace; the frame as tall as the slip, so the signature is not hidden inside it.
    expect(await frame.locator('body').evaluate((b) => getComputedStyle(b).fontFamily)).toMatch(/monospace/);
    await ui.page.waitForFunction(() => {
      const f = document.querySelector('#receipt-frame') as unknown as {
        clientHeight: number;
        contentDocument: { documentElement: { scrollHeight: number } } | null;
      };
      return !!f.contentDocument && f.clientHeight >= f.contentDocument.documentElement.scrollHeight;
    });
    const sigBox = (await sig.boundingBox())!;
    const frameBox = (await ui.page.locator('#receipt-frame').boundingBox())!;
    expect(sigBox.height).toBeGreaterThan(20);
    expect(sigBox.y + sigBox.height).toBeLessThanOrEqual(frameBox.y + frameBox.height + 1);
    expect(sigBox.x + sigBox.width).toBeLessThanOrEqual(PHONE.width);
    await expectNoSidewaysScroll();
    await ui.page.locator('#receipt').scrollIntoViewIfNeeded();
    await screenshot(ui.page, 'phone-3-merchant-receipt-signed');
  });

  it('words a decline in Chinese after the language switch, the code kept small', async () => {
    await openPhone('zh');
    await clearFaults();
    await setCard('cup-credit-chip');
    expect(await ui.page.evaluate(() => document.documentElement.lang)).toBe('zh-CN');
    await ui.chooseOrder('CAR-2024-0002');
    // Amounts ending in .51: the host answers 51 (insufficient funds).
    const id = await pay('100.51');
    await ui.waitForState(id, 'declined');
    expect(await ui.page.textContent('#live-prompt')).toBe('交易被拒绝：余额不足');
    expect(await ui.page.textContent('#live .code')).toBe('代码: declined · 51');
    expect(await ui.page.textContent('#live-state')).toBe('已拒绝');
    expect(await ui.page.textContent('#live-note')).toMatch(HAN);
    expect(await ui.page.textContent('#bar-prompt')).toBe('交易被拒绝：余额不足');
    expect(await ui.page.getAttribute('#live [data-step="result"]', 'data-status')).toBe('error');
    const row = ui.row(id);
    expect(await ui.page.textContent(`${row} .badge`)).toBe('已拒绝');
    expect(await ui.page.textContent(`${row} [data-role="why"]`)).toContain('余额不足');
    expect(await ui.page.textContent(`${row} .code`)).toContain('declined · 51');
    // Timeline and event log: words, no snake_case (the raw event stays in the folded support details).
    for (const text of await ui.page.$$eval('#live-timeline li, #log .log-text', (els) =>
      els.map((e) => e.textContent ?? ''),
    )) {
      expect(text).not.toMatch(SNAKE);
      expect(text).toMatch(HAN);
    }
    expect(await ui.page.$$eval('#log details.support', (els) => els.length)).toBeGreaterThan(0);
    await expectNoSidewaysScroll();
    await screenshot(ui.page, 'phone-4-declined-zh');

    // Remembered across a reload; back to English on the switch.
    await ui.page.reload();
    await ui.loaded();
    await ui.page.waitForSelector('#lang button[data-lang="zh"][aria-pressed="true"]');
    await ui.chooseOrder('CAR-2024-0002');
    await ui.page.click(`${row} button[data-action="follow"]`);
    await ui.page.waitForSelector(`#live[data-payment-id="${id}"][data-state="declined"]`);
    expect(await ui.page.textContent('#live-prompt')).toBe('交易被拒绝：余额不足');
    await ui.page.click('#lang button[data-lang="en"]');
    await ui.page.waitForSelector('#live-prompt:has-text("Declined: insufficient funds")');
    expect(await ui.page.textContent('#live .code')).toBe('code: declined · 51');
    expect(await ui.page.textContent(`${row} .badge`)).toBe('Declined');
  });

  it('shows a reversed payment with warning steps, never all green', async () => {
    await openPhone('en');
    await clearFaults();
    await setCard('cup-debit-chip');
    await ui.chooseOrder('CAR-2024-0004');
    // The sale's answer and the status inquiry's are lost: unknown, then reversed.
    await fault({ action: 'drop_response', match: { mti: '0200' }, times: 1 });
    await fault({ action: 'drop_response', match: { mti: '0820' }, times: 1 });
    const id = await pay('189900.00');
    await ui.waitForState(id, 'unknown');
    expect(await ui.page.textContent('#live-prompt')).toBe('Checking with the bank — do not charge again');
    expect(await ui.page.getAttribute('#live [data-step="processing"]', 'data-status')).toBe('warning');
    await expectInViewport('#status-bar');
    expect(await ui.page.getAttribute('#status-bar', 'data-tone')).toBe('warning');
    await screenshot(ui.page, 'phone-5-unknown');

    await ui.waitForState(id, 'reversed', 30_000);
    const statuses = await ui.page.$$eval('#live .steps li', (els) =>
      els.map((e) => (e as unknown as PageElement).dataset['status']),
    );
    expect(statuses.every((s) => s === 'done')).toBe(false);
    expect(await ui.page.getAttribute('#live [data-step="result"]', 'data-status')).toBe('warning');
    expect(await ui.page.getAttribute('#live [data-step="processing"]', 'data-status')).toBe('warning');
    expect(await ui.page.getAttribute('#live-timeline', 'data-states')).toMatch(
      /authorizing unknown .*reversed/,
    );
    expect(await ui.page.getAttribute('#live-timeline li[data-state="reversed"]', 'data-tone')).toBe(
      'warning',
    );
    expect(await ui.page.textContent('#live-timeline')).not.toMatch(SNAKE);
    expect(await ui.page.textContent('#live-prompt')).toContain('not charged');
    expect(await ui.page.textContent('#order-paid')).toBe('¥0.00');
    await expectNoSidewaysScroll();
    await screenshot(ui.page, 'phone-6-reversed');
  });
});
