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
