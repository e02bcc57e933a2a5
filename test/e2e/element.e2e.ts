/**
 * `<posbridge-pay>` in Debian's chromium, on the demo's /element page (the element's browser bundle,
 * dist/browser/posbridge-pay.js, as a CRM page loads it) against the demo composition with the reader and
 * host simulators: pay (prompts shown, then the signature pad, then the receipt with the signature), a
 * decline in the cashier's words with the code kept for support, Chinese when lang="zh", an amount that is
 * not integer fen refused with a visible error and an `error` event, and a 390 px phone with no sideways
 * scroll. The expected words come from the wording module (the element must show exactly those).
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { describeProgress, describeState } from '../../packages/client/src/wording.js';
import { READER_PROGRESS } from '../../packages/client/src/types.js';
import { qrImage } from '../../packages/client/src/element/qr-image.js';
import { screenshot } from './browser.js';
import { useDemoPage } from './demo-page.js';

// In-page callbacks run in the browser; the project compiles without the DOM library.
interface El {
  dataset: Record<string, string | undefined>;
  shadowRoot: { querySelector(s: string): { textContent: string | null } | null } | null;
  addEventListener(type: string, l: (e: { detail: unknown }) => void): void;
  setAttribute(name: string, value: string): void;
}
declare const document: {
  querySelector(selector: string): El | null;
  documentElement: { scrollWidth: number; clientWidth: number; lang: string };
};
declare const window: Record<string, unknown>;
declare function fetch(
  url: string,
  init: { method: string; headers: Record<string, string>; body: string },
): Promise<{ status: number }>;
declare class MutationObserver {
  constructor(cb: () => void);
  observe(target: unknown, options: Record<string, boolean>): void;
}

const ui = useDemoPage({
  name: 'element',
  demo: { customerDelayMs: 40, hostResponseMs: 2500, logLevel: 'silent' },
});

const EL = 'posbridge-pay';

interface Seen {
  prompts: string[];
  events: {
    type: string;
    detail: {
      payment?: { state?: string; reason?: string | null; host?: { responseCode: string | null } };
      code?: string;
      field?: string;
    };
  }[];
}

/** Opens /element, records the element's prompts and events, and waits until it has its token. */
async function openElement(page: Page): Promise<void> {
  await page.goto(`${ui.base}/element`);
  await page.waitForSelector('#conn[data-state="ready"]');
  await page.waitForSelector(`${EL}[data-phase="idle"]`);
  await page.evaluate(() => {
    const el = document.querySelector('posbridge-pay')!;
    const seen: Seen = { prompts: [], events: [] };
    window['seen'] = seen;
    for (const type of ['posbridge-state', 'posbridge-completed', 'posbridge-failed', 'error'])
      el.addEventListener(type, (e) =>
        seen.events.push({ type, detail: e.detail as Seen['events'][0]['detail'] }),
      );
    // Prompts flash by (the simulated customer is quick): keep every one the element showed.
    new MutationObserver(() => {
      const t = el.shadowRoot?.querySelector('.prompt')?.textContent?.trim();
      if (t && seen.prompts[seen.prompts.length - 1] !== t) seen.prompts.push(t);
    }).observe(el.shadowRoot, { subtree: true, childList: true, characterData: true });
  });
}

const seen = (page: Page): Promise<Seen> => page.evaluate(() => window['seen'] as Seen);

async function setAmount(page: Page, amount: string): Promise<void> {
  await page.evaluate((a) => document.querySelector('posbridge-pay')!.setAttribute('amount', a), amount);
}

/** Draws on the element's signature pad. */
async function draw(page: Page): Promise<void> {
  const box = (await page.locator(`${EL} canvas`).boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.1, box.y + box.height * 0.6);
  await page.mouse.down();
  for (let i = 1; i <= 24; i++)
    await page.mouse.move(
      box.x + box.width * (0.1 + i * 0.03),
      box.y + box.height * (0.5 + 0.25 * Math.sin(i / 2)),
    );
  await page.mouse.up();
}

const noSidewaysScroll = (page: Page): Promise<boolean> =>
  page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth);

describe('<posbridge-pay> on /element', () => {
  it('pays: reader prompts, the customer signs, the receipt shows with the signature', async () => {
    const page = ui.page;
    await openElement(page);
    expect((await page.textContent(`${EL} button.pay`))?.trim()).toBe('Pay ¥12,800.00');
    await page.click(`${EL} button.pay`);
    await page.waitForSelector(`${EL}[data-phase="done"][data-state="completed"]`);

    const s = await seen(page);
    const promptWords = READER_PROGRESS.map((p) => describeProgress(p, 'en'));
    expect(s.prompts.length).toBeGreaterThan(0);
    for (const p of s.prompts) expect(promptWords.some((w) => p.startsWith(w))).toBe(true);
    expect(s.prompts[0]).toBe(describeProgress('present_card', 'en'));
    const states = s.events.filter((e) => e.type === 'posbridge-state').map((e) => e.detail.payment?.state);
    expect(states).toContain('authorizing');
    expect(states[states.length - 1]).toBe('completed');
    expect(s.events.filter((e) => e.type === 'posbridge-completed')).toHaveLength(1);
    expect(await page.textContent(`${EL} .status .title`)).toBe(describeState('completed', 'en').title);

    // The signature pad: saving needs ink.
    await page.waitForSelector(`${EL} section.sign[data-status="needed"] canvas`);
    expect(await page.isDisabled(`${EL} button.sign-save`)).toBe(true);
    await draw(page);
    await page.click(`${EL} button.sign-save`);
    await page.waitForSelector(`${EL} .sign-text[data-status="saved"]`);

    // The merchant copy with the signature, in a sandboxed frame.
    await page.waitForSelector(`${EL} section.receipt[data-copy="merchant"][data-loading="false"] iframe`);
    const frame = page.locator(`${EL} iframe`);
    expect(await frame.getAttribute('sandbox')).toBe('');
    const srcdoc = (await frame.getAttribute('srcdoc')) ?? '';
    expect(srcdoc).toContain('posbridge-receipt');
    expect(srcdoc).toContain('alt="cardholder signature"');
    // The card number masked 6/4, never in full.
    expect(/CARD NO\.<\/dt><dd>([^<]*)<\/dd>/.exec(srcdoc)?.[1]).toMatch(/^\d{6}\*+\d{4}$/);
    await screenshot(page, 'element-1-paid-signed-receipt');

    await page.click(`${EL} button.copy-customer`);
    await page.waitForSelector(`${EL} section.receipt[data-copy="customer"][data-loading="false"] iframe`);
    expect(await page.locator(`${EL} iframe`).getAttribute('srcdoc')).not.toContain('cardholder signature');
  });

  it('a decline is shown in the cashier’s words with the response code for support, and can be retried', async () => {
    const page = ui.page;
    await openElement(page);
    await setAmount(page, '1280051'); // the host simulator declines amounts ending in 51 (insufficient funds)
    await page.waitForSelector(`${EL} button.pay:has-text("Pay ¥12,800.51")`);
    await page.click(`${EL} button.pay`);
    await page.waitForSelector(`${EL}[data-phase="failed"][data-state="declined"]`);
    const failed = (await seen(page)).events.filter((e) => e.type === 'posbridge-failed');
    expect(failed).toHaveLength(1);
    const p = failed[0]!.detail.payment!;
    expect(p.state).toBe('declined');
    expect(p.host?.responseCode).toBe('51');
    const words = describeState('declined', 'en', p.reason, '51');
    expect(await page.textContent(`${EL} .status .title`)).toBe(words.title);
    expect(await page.textContent(`${EL} .status .code`)).toBe(words.code);
    expect(words.code).toContain('51');
    expect(await page.getAttribute(`${EL} .status`, 'data-tone')).toBe(words.tone);
    // No money taken: a new attempt is offered (a new idempotency key), no signature, no receipt.
    expect((await page.textContent(`${EL} button.pay`))?.trim()).toBe('Try again: pay ¥12,800.51');
    expect(await page.$(`${EL} section.sign`)).toBeNull();
    expect(await page.$(`${EL} section.receipt`)).toBeNull();
    await screenshot(page, 'element-2-declined');
  });

  it('speaks Chinese with lang="zh" (and follows the page’s language without one)', async () => {
    const page = ui.page;
    await openElement(page);
    await page.evaluate(() => {
      document.documentElement.lang = 'zh-CN';
    });
    await page.waitForSelector(`${EL} button.pay:has-text("支付 ¥12,800.00")`);
    await page.evaluate(() => {
      document.documentElement.lang = 'en';
      document.querySelector('posbridge-pay')!.setAttribute('lang', 'zh');
    });
    await page.waitForSelector(`${EL} button.pay:has-text("支付 ¥12,800.00")`);
    await setAmount(page, '1280051');
    await page.click(`${EL} button.pay`);
    await page.waitForSelector(`${EL}[data-phase="failed"][data-state="declined"]`);
    const p = (await seen(page)).events.find((e) => e.type === 'posbridge-failed')!.detail.payment!;
    const words = describeState('declined', 'zh', p.reason, '51');
    expect(await page.textContent(`${EL} .status .title`)).toBe(words.title);
    const prompts = (await seen(page)).prompts;
    expect(prompts[0]).toBe(describeProgress('present_card', 'zh'));
    await screenshot(page, 'element-3-zh-declined');
  });

  it('refuses an amount that is not integer fen: a visible error naming the attribute, an error event, no pay button', async () => {
    const page = ui.page;
    await openElement(page);
    await setAmount(page, '12800.00');
    await page.waitForSelector(`${EL}[data-phase="invalid"]`);
    expect(await page.getAttribute(`${EL} .invalid`, 'data-field')).toBe('amount');
    expect(await page.textContent(`${EL} .invalid p`)).toContain('"12800.00"');
    expect(await page.isDisabled(`${EL} button.pay`)).toBe(true);
    const errors = (await seen(page)).events.filter((e) => e.type === 'error');
    expect(errors.map((e) => [e.detail.code, e.detail.field])).toEqual([['invalid_amount', 'amount']]);
    // Fixed: usable again.
    await setAmount(page, '1280000');
    await page.waitForSelector(`${EL}[data-phase="idle"] >> button.pay:not([disabled])`);
  });

  it('scan-to-pay (terminal="qr:alipay"): draws the QR the customer pays, then completes without a signature', async () => {
    const page = ui.page;
    await openElement(page);
    await page.evaluate(() => {
      const el = document.querySelector('posbridge-pay')!;
      el.setAttribute('terminal', 'qr:alipay');
      el.setAttribute('amount', '4000045');
    });
    await page.click(`${EL} button.pay`);
    const figure = `${EL} figure.qr[data-method="alipay"]`;
    await page.waitForSelector(`${figure} svg path`);
    const content = (await page.getAttribute(figure, 'data-content'))!;
    expect(content.length).toBeGreaterThan(0);
    // The drawn modules are exactly the QR encoding of the payment's content (qrcode's encoder).
    expect(await page.getAttribute(`${figure} svg path`, 'd')).toBe(qrImage(content).path);
    expect(await page.getAttribute(`${figure} svg`, 'aria-label')).toBe('Alipay QR code for ¥40,000.45');
    expect((await page.textContent(`${figure} .qr-text`))?.trim()).toBe(
      'Ask the customer to scan this code with Alipay and pay ¥40,000.45.',
    );
    const box = (await page.locator(`${figure} svg`).boundingBox())!;
    expect(box.width).toBeGreaterThanOrEqual(200); // scannable from a phone
    expect(await page.locator(`${EL} .wait`).count()).toBe(0);
    expect(await page.textContent(`${EL} .status .title`)).toBe('Waiting for the customer to pay…');
    await screenshot(page, 'element-5-alipay-qr');

    // The customer's phone scans and pays (the QR simulator's control API).
    const scanned = await page.evaluate(async (qrContent) => {
      const res = await fetch('/sim/qr/scan', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ qrContent, action: 'pay' }),
      });
      return res.status;
    }, content);
    expect(scanned).toBeLessThan(300);
    await page.waitForSelector(`${EL}[data-phase="done"][data-state="completed"]`);
    expect(await page.locator(`${EL} figure.qr`).count()).toBe(0);
    expect(await page.locator(`${EL} section.sign`).count()).toBe(0);
    const s = await seen(page);
    expect(s.events.filter((e) => e.type === 'posbridge-completed')).toHaveLength(1);
    await page.evaluate(() => {
      const el = document.querySelector('posbridge-pay')!;
      el.setAttribute('terminal', '');
      el.setAttribute('amount', '1280000');
    });
  });

  it('fits a 390 px phone: no sideways scroll while paying, signing or showing the receipt', async () => {
    const page = ui.page;
    await page.setViewportSize({ width: 390, height: 844 });
    await openElement(page);
    expect(await noSidewaysScroll(page)).toBe(true);
    await page.click(`${EL} button.pay`);
    await page.waitForSelector(`${EL}[data-state="authorizing"], ${EL}[data-phase="done"]`);
    expect(await noSidewaysScroll(page)).toBe(true);
    await page.waitForSelector(`${EL} section.sign[data-status="needed"] canvas`);
    expect(await noSidewaysScroll(page)).toBe(true);
    const pad = (await page.locator(`${EL} canvas`).boundingBox())!;
    expect(pad.x).toBeGreaterThanOrEqual(0);
    expect(pad.x + pad.width).toBeLessThanOrEqual(390);
    await draw(page);
    await page.click(`${EL} button.sign-save`);
    await page.waitForSelector(`${EL} section.receipt[data-copy="merchant"][data-loading="false"] iframe`);
    expect(await noSidewaysScroll(page)).toBe(true);
    // The slip is laid out to the frame's width (no sideways scroll inside it either). The frame is
    // sandboxed without scripts, so poll with evaluate rather than waitForFunction.
    const fits = async (): Promise<boolean> => {
      const slip = await (await page.$(`${EL} iframe`))?.contentFrame();
      if (!slip) return false;
      return slip.evaluate(() => {
        const d = (
          globalThis as unknown as {
            document: {
              documentElement: { scrollWidth: number; clientWidth: number };
              querySelector(s: string): unknown;
            };
          }
        ).document;
        return (
          d.querySelector('.posbridge-receipt') !== null &&
          d.documentElement.scrollWidth <= d.documentElement.clientWidth
        );
      });
    };
    for (let i = 0; i < 50 && !(await fits()); i++) await page.waitForTimeout(100);
    expect(await fits()).toBe(true);
    const frame = (await page.locator(`${EL} iframe`).boundingBox())!;
    expect(frame.x + frame.width).toBeLessThanOrEqual(390);
    await screenshot(page, 'element-4-phone-390');
  });
});
