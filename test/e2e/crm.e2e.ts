/**
 * The browser suite: the demo CRM page (simulators/crm) in Debian's chromium, against the demo
 * composition (daemon + host and reader simulators) started in this process. The page is driven like
 * a salesperson would: choose an order, set the simulated card or a fault in the simulator panel, take
 * payments, sign, open receipts, refund. Every wait is on a DOM state (the page mirrors payment states
 * in data-state attributes), never a fixed sleep. Screenshots go to test-results/e2e/.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, onTestFailed } from 'vitest';
import { METHODS } from '../../src/api/schemas.js';
import { startDemo, type Demo } from '../../simulators/demo.js';
import { launchBrowser, pageErrors, screenshot, type Browser } from './browser.js';

// The in-page callbacks run in the browser; the project compiles without the DOM library, so they
// see these few module-local declarations instead.
interface PageElement {
  dataset: Record<string, string | undefined>;
  textContent: string | null;
  value: string;
}
declare const document: {
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement> & Iterable<PageElement>;
};
declare const window: { posbridgeDemo: { payments: Map<string, { host: { stan: string } }> } };

let demo: Demo;
let browser: Browser;
let page: Page;
let base = '';

// Methods another engineer may be adding right now: the page works with and without them.
const HAS_SIGNATURE = 'payment.signature' in METHODS;
const HAS_RECEIPT = 'receipt.get' in METHODS;

beforeAll(async () => {
  demo = await startDemo({
    stateDir: mkdtempSync(join(tmpdir(), 'pb-e2e-')),
    port: 0,
    // Fast but not instant, so the reader's prompts reach the page one by one.
    customerDelayMs: 40,
    // A lost host answer becomes `unknown` after 2.5 s instead of 10 s.
    hostResponseMs: 2500,
    logLevel: 'silent',
  });
  base = `http://127.0.0.1:${demo.port}`;
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

beforeEach(async (ctx) => {
  page = await browser.newPage();
  const name = ctx.task.name.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
  onTestFailed(async () => {
    await screenshot(page, `FAILED-${name}`).catch(() => undefined);
  });
  await page.goto(`${base}/`);
  await page.waitForSelector('#conn[data-state="ready"]');
  // Every order's summary has loaded.
  await page.waitForFunction(
    () =>
      document.querySelectorAll('#order-list [data-paid]').length === 4 &&
      ![...document.querySelectorAll('#order-list .due')].some((e) => e.textContent === '…'),
  );
});

afterEach(async () => {
  expect(pageErrors(page)).toEqual([]);
  await page.close();
});

// ------------------------------------------------------------------ page actions

async function chooseOrder(orderId: string): Promise<void> {
  await page.click(`#order-list button[data-order="${orderId}"]`);
  await page.waitForSelector(`#order[data-order="${orderId}"]`);
}

async function openSimulators(): Promise<void> {
  if (!(await page.$eval('#sim', (d) => (d as unknown as { open: boolean }).open)))
    await page.click('#sim summary');
  await page.waitForSelector('#sim-card option', { state: 'attached' });
}

async function chooseCard(cardId: string): Promise<void> {
  await openSimulators();
  await page.selectOption('#sim-card', cardId);
  await page.waitForSelector(`#sim-reader-status[data-card="${cardId}"]`);
}

/** Types the amount, takes the payment, returns its id once the reader panel follows it. */
async function pay(amount: string): Promise<string> {
  const before = await page.getAttribute('#live', 'data-payment-id');
  await page.fill('#pay-amount', amount);
  await page.click('#pay-submit');
  const handle = await page.waitForFunction((b) => {
    const id = document.querySelector('#live')!.dataset['paymentId'];
    return id && id !== b ? id : undefined;
  }, before);
  return (await handle.jsonValue()) as string;
}

const row = (paymentId: string) => `#order-payments li.payment[data-payment-id="${paymentId}"]`;

async function waitForState(paymentId: string, state: string, timeout = 20_000): Promise<void> {
  await page.waitForSelector(`${row(paymentId)}[data-state="${state}"]`, { timeout });
  await page.waitForSelector(`#live[data-payment-id="${paymentId}"][data-state="${state}"]`, { timeout });
}

async function sign(): Promise<void> {
  const pad = page.locator('#sign-pad');
  const box = (await pad.boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.1, box.y + box.height * 0.6);
  await page.mouse.down();
  for (let i = 1; i <= 24; i++)
    await page.mouse.move(
      box.x + box.width * (0.1 + i * 0.03),
      box.y + box.height * (0.5 + 0.25 * Math.sin(i / 2)),
    );
  await page.mouse.up();
  await page.click('#sign-save');
}

async function hostTransactions(): Promise<
  { stan: string; status: string; type: string; amount: number; refundedAmount: number }[]
> {
  return (await (await fetch(`${base}/sim/host/transactions?tid=DEMO0001`)).json()) as never;
}

async function paymentStan(paymentId: string): Promise<string> {
  return page.evaluate((id) => window.posbridgeDemo.payments.get(id)!.host.stan, paymentId);
}

// ------------------------------------------------------------------ scenarios

describe('demo CRM page in chromium', () => {
  it('pays an order in two payments with a signature', async () => {
    await chooseOrder('CAR-2024-0001');
    await chooseCard('cup-debit-chip');
    expect(await page.inputValue('#pay-amount')).toBe('128000.00');

    const first = await pay('64000.00');
    await waitForState(first, 'completed');
    // The reader's prompts reached the page live, in order.
    const prompts = await page.$$eval(`#log li[data-payment-id="${first}"][data-progress]`, (lis) =>
      lis.map((li) => (li as unknown as PageElement).dataset['progress']).reverse(),
    );
    expect(prompts).toEqual(
      expect.arrayContaining([
        'present_card',
        'pin_entry_started',
        'pin_digit_entered',
        'processing',
        'remove_card',
      ]),
    );
    expect(prompts.indexOf('present_card')).toBeLessThan(prompts.indexOf('remove_card'));
    expect(await page.textContent('#live-prompt')).toContain('Approved ¥64,000.00');

    // The pad opened for this payment; the customer signs.
    await page.waitForSelector('#sign-for:has-text("¥64,000.00")');
    await sign();
    await page.waitForSelector(`#sign-status[data-status="${HAS_SIGNATURE ? 'stored' : 'unavailable'}"]`);
    expect(await page.getAttribute(`${row(first)} img.sig`, 'src')).toMatch(/^data:image\/png;base64,/);
    await screenshot(page, '1-first-payment-signed');
    if (HAS_SIGNATURE && HAS_RECEIPT) {
      // The merchant copy carries the signature the daemon kept.
      await page.click(`${row(first)} button[data-action="receipt"]`);
      await page.waitForSelector(`#receipt[data-payment-id="${first}"][data-source="daemon"]`);
      await page.click('#receipt button[data-copy="merchant"]');
      await page.waitForSelector('#receipt button[data-copy="merchant"][aria-pressed="true"]');
      await page.frameLocator('#receipt-frame').locator('img, svg').first().waitFor();
      await screenshot(page, '1-merchant-copy-with-signature');
    }

    // The rest of the amount: the page proposes what is still due.
    await page.waitForFunction(() => document.querySelector('#pay-amount')!.value === '64000.00');
    const second = await pay('64000.00');
    await waitForState(second, 'completed');
    await page.waitForSelector('#order-due:has-text("paid in full")');
    await page.waitForSelector('#order-list button[data-order="CAR-2024-0001"] .due[data-paid="true"]');
    expect(await page.textContent('#order-paid')).toBe('¥128,000.00');
    expect(await page.locator('#order-payments li.payment[data-state="completed"]').count()).toBe(2);
    await screenshot(page, '1-order-paid-in-two-payments');
  });

  it('refunds part of a payment', async () => {
    await chooseOrder('CAR-2024-0002');
    await chooseCard('cup-credit-chip');
    const sale = await pay('96500.00');
    await waitForState(sale, 'completed');

    await page.click(`${row(sale)} button[data-action="refund"]`);
    await page.waitForSelector('#refund-form:not([hidden])');
    expect(await page.inputValue('#refund-amount')).toBe('96500.00');
    await page.fill('#refund-amount', '10000.00');
    await page.click('#refund-submit');
    const refund = await page.waitForFunction((s) => {
      const id = document.querySelector('#live')!.dataset['paymentId'];
      return id && id !== s ? id : undefined;
    }, sale);
    const refundId = (await refund.jsonValue()) as string;
    await waitForState(refundId, 'completed');
    await page.waitForSelector(`${row(refundId)}[data-kind="refund"]`);
    await page.waitForSelector('#order-refunded:has-text("¥10,000.00")');
    expect(await page.textContent('#order-due')).toBe('¥10,000.00');
    expect(await page.textContent(row(sale))).toContain('refunded ¥10,000.00 of ¥96,500.00');
    // The refund button now offers what is left.
    await page.click(`${row(sale)} button[data-action="refund"]`);
    expect(await page.inputValue('#refund-amount')).toBe('86500.00');
    await screenshot(page, '2-partial-refund');

    // The acquirer agrees.
    const stan = await paymentStan(sale);
    const tx = (await hostTransactions()).find((t) => t.stan === stan && t.type === 'sale')!;
    expect(tx).toMatchObject({ status: 'partially_refunded', refundedAmount: 1_000_000 });
  });

  it('takes a device-token payment whose receipt shows the device account', async () => {
    await chooseOrder('CAR-2024-0003');
    await chooseCard('visa-token-applepay');
    const id = await pay('50000.00');
    await waitForState(id, 'completed');
    // Apple Pay: the device account (DPAN) last four, not a card number.
    expect(await page.textContent(row(id))).toContain('device account •••• 0101');

    await page.click(`${row(id)} button[data-action="receipt"]`);
    await page.waitForSelector(`#receipt[data-payment-id="${id}"][data-source]`);
    const source = await page.getAttribute('#receipt', 'data-source');
    expect(source).toBe(HAS_RECEIPT ? 'daemon' : 'page');
    const text =
      source === 'daemon'
        ? await page.frameLocator('#receipt-frame').locator('body').innerText()
        : await page.locator('#receipt .slip').innerText();
    expect(text).toMatch(/device account/i);
    expect(text).toContain('0101');
    // Neither the device account number nor the funding card's number (simulators/cards.json).
    expect(text).not.toContain('4761739001010101');
    expect(text).not.toContain('4111112222333347');
    await screenshot(page, '3-device-token-receipt');
    await chooseCard('cup-debit-chip');
  });

  it('shows a payment whose host answer was lost as unknown until recovery settles it', async () => {
    await chooseOrder('CAR-2024-0004');
    await chooseCard('cup-debit-chip');
    // The sale's answer is lost, and so is the first status inquiry's: the payment stays unknown
    // for a whole response timeout, then posbridge reverses it.
    await page.selectOption('#sim-fault-action', 'drop_response');
    await page.selectOption('#sim-fault-target', '0200');
    await page.click('#sim-fault-add');
    await page.waitForSelector('#sim-faults li[data-action-name="drop_response"]');
    await page.selectOption('#sim-fault-target', '0820');
    await page.click('#sim-fault-add');
    await page.waitForSelector('#sim-faults[data-count="2"]');

    const id = await pay('189900.00');
    await waitForState(id, 'unknown');
    expect(await page.textContent('#live-note')).toContain('Do not take the payment again');
    await screenshot(page, '4-host-answer-lost-unknown');

    await waitForState(id, 'reversed', 30_000);
    expect(await page.textContent('#live-timeline')).toMatch(/authorizing → unknown → .*reversed/);
    expect(await page.textContent('#live-prompt')).toContain('not charged');
    // Nothing was taken for the order; the acquirer holds the sale reversed.
    expect(await page.textContent('#order-paid')).toBe('¥0.00');
    expect(await page.textContent('#order-due')).toBe('¥189,900.00');
    const stan = await paymentStan(id);
    const tx = (await hostTransactions()).find((t) => t.stan === stan && t.type === 'sale')!;
    expect(tx.status).toBe('reversed');
    await screenshot(page, '4-host-answer-lost-reversed');
  });
});
