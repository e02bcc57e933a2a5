/**
 * One browser suite's fixture: a demo (daemon, simulators, CRM page) on a free port and a Chromium for
 * the file; a fresh page per test, opened on the demo and loaded, a screenshot when a test fails, and no
 * page errors allowed. `useDemoPage` registers the hooks; read `ui.page` etc. inside tests.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, expect, onTestFailed } from 'vitest';
import { startDemo, type Demo, type DemoOptions } from '../../simulators/demo.js';
import { launchBrowser, pageErrors, screenshot, type Browser } from './browser.js';

declare const document: {
  querySelector(selector: string): { dataset: Record<string, string | undefined> } | null;
  querySelectorAll(
    selector: string,
  ): ArrayLike<{ textContent: string | null }> & Iterable<{ textContent: string | null }>;
};

export interface DemoPage {
  readonly demo: Demo;
  readonly browser: Browser;
  readonly page: Page;
  /** `http://127.0.0.1:<port>` of the demo. */
  readonly base: string;
  /** Waits until the page is connected and every order's summary has loaded (after a reload too). */
  loaded(): Promise<void>;
  /** The selector of a payment's row in the open order. */
  row(paymentId: string): string;
  /** Waits until the payment's row and the live panel both show `state`. */
  waitForState(paymentId: string, state: string, timeout?: number): Promise<void>;
  /** Opens an order from the list. */
  chooseOrder(orderId: string): Promise<void>;
  /** Runs `act`, returns the id of the payment the live panel follows next. */
  started(act: () => Promise<void>): Promise<string>;
  /** Draws a signature on the pad and saves it. */
  sign(): Promise<void>;
}

export interface DemoPageOptions {
  /** Prefix of the state directory and of failure screenshots. */
  name: string;
  demo: Omit<DemoOptions, 'stateDir' | 'port'>;
  /** More to wait for once the page has loaded (e.g. the terminal kind). */
  ready?: (page: Page) => Promise<void>;
}

export function useDemoPage(o: DemoPageOptions): DemoPage {
  let demo: Demo | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  let base = '';
  const need = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`${what} is not open: use it inside a test`);
    return v;
  };
  const ui: DemoPage = {
    get demo() {
      return need(demo, 'the demo');
    },
    get browser() {
      return need(browser, 'the browser');
    },
    get page() {
      return need(page, 'the page');
    },
    get base() {
      return base;
    },
    async loaded() {
      const p = need(page, 'the page');
      await p.waitForSelector('#conn[data-state="ready"]');
      await p.waitForFunction(
        () =>
          document.querySelectorAll('#order-list [data-paid]').length === 4 &&
          ![...document.querySelectorAll('#order-list .due')].some((e) => e.textContent === '…'),
      );
    },
    row: (paymentId) => `#order-payments li.payment[data-payment-id="${paymentId}"]`,
    async waitForState(paymentId, state, timeout = 30_000) {
      const p = need(page, 'the page');
      await p.waitForSelector(`${ui.row(paymentId)}[data-state="${state}"]`, { timeout });
      await p.waitForSelector(`#live[data-payment-id="${paymentId}"][data-state="${state}"]`, { timeout });
    },
    async chooseOrder(orderId) {
      const p = need(page, 'the page');
      await p.click(`#order-list button[data-order="${orderId}"]`);
      await p.waitForSelector(`#order[data-order="${orderId}"]`);
    },
    async started(act) {
      const p = need(page, 'the page');
      const before = await p.getAttribute('#live', 'data-payment-id');
      await act();
      const handle = await p.waitForFunction((b) => {
        const id = document.querySelector('#live')!.dataset['paymentId'];
        return id && id !== b ? id : undefined;
      }, before);
      return (await handle.jsonValue()) as string;
    },
    async sign() {
      const p = need(page, 'the page');
      const box = (await p.locator('#sign-pad').boundingBox())!;
      await p.mouse.move(box.x + box.width * 0.1, box.y + box.height * 0.6);
      await p.mouse.down();
      for (let i = 1; i <= 24; i++)
        await p.mouse.move(
          box.x + box.width * (0.1 + i * 0.03),
          box.y + box.height * (0.5 + 0.25 * Math.sin(i / 2)),
        );
      await p.mouse.up();
      await p.click('#sign-save');
    },
  };

  beforeAll(async () => {
    demo = await startDemo({
      ...o.demo,
      stateDir: mkdtempSync(join(tmpdir(), `pb-e2e-${o.name}-`)),
      port: 0,
    });
    base = `http://127.0.0.1:${demo.port}`;
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await demo?.stop();
  });

  beforeEach(async (ctx) => {
    const p = await need(browser, 'the browser').newPage();
    page = p;
    const name = ctx.task.name.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
    onTestFailed(async () => {
      await screenshot(p, `FAILED-${o.name}-${name}`).catch(() => undefined);
    });
    await p.goto(`${base}/`);
    await ui.loaded();
    await o.ready?.(p);
  });

  afterEach(async () => {
    expect(pageErrors(page!)).toEqual([]);
    await page?.close();
  });

  return ui;
}
