/**
 * The demo CRM page's guards, in Debian's chromium against the demo composition (as crm.e2e.ts): amounts
 * are checked against the order (an amount above what is due waits for the operator's confirmation, a
 * refund is never proposed again, an over-paid order is a warning), and the receipt and signature panels
 * belong to the open order, with "signed" coming from the daemon (so it survives a reload). Every wait
 * is on a DOM state, never a fixed sleep.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, onTestFailed } from 'vitest';
import { METHODS } from '../../src/api/schemas.js';
import { startDemo, type Demo } from '../../simulators/demo.js';
import { launchBrowser, pageErrors, screenshot, type Browser } from './browser.js';

// The in-page callbacks run in the browser; the project compiles without the DOM library.
interface PageElement {
  dataset: Record<string, string | undefined>;
  textContent: string | null;
  value: string;
}
declare const document: {
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement> & Iterable<PageElement>;
};
declare const window: {
  posbridgeDemo: {
    pb: { order: { get(orderId: string): Promise<{ operations: { kind: string; amount: number }[] }> } };
  };
};

let demo: Demo;
let browser: Browser;
let page: Page;
let base = '';

const HAS_SIGNATURE = 'payment.signature' in METHODS;
const HAS_RECEIPT = 'receipt.get' in METHODS;

beforeAll(async () => {
  demo = await startDemo({
    stateDir: mkdtempSync(join(tmpdir(), 'pb-e2e-guards-')),
    port: 0,
    customerDelayMs: 40,
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

async function loaded(): Promise<void> {
  await page.waitForSelector('#conn[data-state="ready"]');
  await page.waitForFunction(
    () =>
      document.querySelectorAll('#order-list [data-paid]').length === 4 &&
      ![...document.querySelectorAll('#order-list .due')].some((e) => e.textContent === '…'),
  );
}

beforeEach(async (ctx) => {
  page = await browser.newPage();
  const name = ctx.task.name.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
  onTestFailed(async () => {
    await screenshot(page, `FAILED-guards-${name}`).catch(() => undefined);
  });
  await page.goto(`${base}/`);
  await loaded();
});

afterEach(async () => {
  expect(pageErrors(page)).toEqual([]);
  await page.close();
});

// ------------------------------------------------------------------ page actions

async function reload(): Promise<void> {
  await page.reload();
  await loaded();
}

async function chooseOrder(orderId: string): Promise<void> {
  await page.click(`#order-list button[data-order="${orderId}"]`);
  await page.waitForSelector(`#order[data-order="${orderId}"]`);
}

async function chooseCard(cardId: string): Promise<void> {
  if (!(await page.$eval('#sim', (d) => (d as unknown as { open: boolean }).open)))
    await page.click('#sim summary');
  await page.waitForSelector('#sim-card option', { state: 'attached' });
  await page.selectOption('#sim-card', cardId);
  await page.waitForSelector(`#sim-reader-status[data-card="${cardId}"]`);
}

/** Runs `act`, returns the id of the payment the live panel then follows. */
async function started(act: () => Promise<void>): Promise<string> {
  const before = await page.getAttribute('#live', 'data-payment-id');
  await act();
  const handle = await page.waitForFunction((b) => {
    const id = document.querySelector('#live')!.dataset['paymentId'];
    return id && id !== b ? id : undefined;
  }, before);
  return (await handle.jsonValue()) as string;
}

async function pay(amount: string): Promise<string> {
  return started(async () => {
    await page.fill('#pay-amount', amount);
    await page.click('#pay-submit');
  });
}

const row = (paymentId: string) => `#order-payments li.payment[data-payment-id="${paymentId}"]`;

async function waitForState(paymentId: string, state: string): Promise<void> {
  await page.waitForSelector(`${row(paymentId)}[data-state="${state}"]`);
  await page.waitForSelector(`#live[data-payment-id="${paymentId}"][data-state="${state}"]`);
}

/** The order's operations as the daemon has them (order.get through the page's client). */
async function daemonOperations(orderId: string): Promise<{ kind: string; amount: number }[]> {
  return page.evaluate(async (id) => (await window.posbridgeDemo.pb.order.get(id)).operations, orderId);
}

async function sign(): Promise<void> {
  const box = (await page.locator('#sign-pad').boundingBox())!;
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

// ------------------------------------------------------------------ scenarios

describe('demo CRM page guards', () => {
  it('asks before charging more than is due (card, QR, payment code); nothing is sent until confirmed', async () => {
    await chooseOrder('CAR-2024-0001'); // ¥128,000.00
    await chooseCard('cup-credit-chip');

    // Card: ¥999,999.99 on ¥128,000.00 due is not sent; the page asks, in yuan.
    await page.fill('#pay-amount', '999,999.99');
    await page.click('#pay-submit');
    await page.waitForSelector('#pay-confirm[data-how="card"]:not([hidden])');
    expect(await page.textContent('#pay-confirm-text')).toBe(
      '¥999,999.99 is more than the ¥128,000.00 due on CAR-2024-0001: ¥871,999.99 over the price. Charge ¥999,999.99 by card anyway?',
    );
    expect(await page.getAttribute('#pay-confirm', 'data-amount')).toBe('99999999');
    await screenshot(page, 'guards-1-over-due-confirmation');
    await page.click('#pay-confirm-no');
    await page.waitForSelector('#pay-confirm', { state: 'hidden' });

    // Alipay QR and a WeChat Pay payment code: the same question, nothing created meanwhile.
    await page.click('#pay-alipay');
    await page.waitForSelector('#pay-confirm[data-how="alipay"]:not([hidden])');
    await page.click('#pay-confirm-no');
    await page.click('#pay-code');
    await page.keyboard.type('134567890123456789');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#pay-confirm[data-how="code-wechat"]:not([hidden])');
    expect(await page.inputValue('#pay-code')).toBe('');
    await page.click('#pay-confirm-no');
    expect(await daemonOperations('CAR-2024-0001')).toEqual([]);
    expect(await page.locator('#order-payments li.payment').count()).toBe(0);
    expect(await page.locator('#live[data-payment-id]').count()).toBe(0);

    // Typing another amount withdraws a pending confirmation.
    await page.fill('#pay-amount', '251456.00');
    await page.click('#pay-submit');
    await page.waitForSelector('#pay-confirm[data-amount="25145600"]:not([hidden])');
    await page.fill('#pay-amount', '251456.01');
    await page.waitForSelector('#pay-confirm', { state: 'hidden' });
    await page.fill('#pay-amount', '251456.00');
    await page.click('#pay-submit');
    await page.waitForSelector('#pay-confirm[data-amount="25145600"]:not([hidden])');
    expect(await daemonOperations('CAR-2024-0001')).toEqual([]);

    // Confirmed: now it is charged, once, for the amount confirmed.
    const id = await started(() => page.click('#pay-confirm-yes'));
    await waitForState(id, 'completed');
    expect(await page.isVisible('#pay-confirm')).toBe(false);
    const ops = await daemonOperations('CAR-2024-0001');
    expect(ops).toMatchObject([{ kind: 'sale', amount: 25_145_600 }]);
    // The order: ¥251,456 on a ¥128,000 price is not "paid in full".
    await page.waitForSelector('#order-over');
    expect(await page.textContent('#order-over')).toContain(
      'Paid ¥251,456.00 on a ¥128,000.00 price: ¥123,456.00 over',
    );
    expect(await page.textContent('#order-due')).not.toContain('paid in full');

    // Amounts are parsed as text: no floats, at most two decimals, digits only.
    await page.fill('#pay-amount', '12.345');
    await page.click('#pay-submit');
    expect(await page.textContent('#pay-error')).toContain('more than 2 decimals');
    await page.fill('#pay-amount', '12a');
    await page.click('#pay-submit');
    expect(await page.textContent('#pay-error')).toContain('is not an amount');
    expect(await page.isVisible('#pay-confirm')).toBe(false);
    expect(await daemonOperations('CAR-2024-0001')).toHaveLength(1);
  });

  it('after a partial refund, the refunded amount is not proposed as due', async () => {
    await chooseOrder('CAR-2024-0002'); // ¥96,500.00
    await chooseCard('visa-chip');
    expect(await page.inputValue('#pay-amount')).toBe('96500.00');
    const sale = await pay('96500.00');
    await waitForState(sale, 'completed');
    await page.waitForSelector('#order-due:has-text("paid in full")');

    await page.click(`${row(sale)} button[data-action="refund"]`);
    await page.fill('#refund-amount', '10000.00');
    const refund = await started(() => page.click('#refund-submit'));
    await waitForState(refund, 'completed');
    await page.waitForSelector('#order-refunded:has-text("¥10,000.00")');
    // The balance shows the refund; the amount to take does not propose it again.
    expect(await page.textContent('#order-due')).toBe('¥10,000.00');
    expect(await page.inputValue('#pay-amount')).toBe('');
    expect(await page.getAttribute('#order', 'data-to-take')).toBe('0');
    expect(await page.textContent('#order-due-note')).toContain('not due again');
    // Neither after switching orders nor after a reload.
    await chooseOrder('CAR-2024-0003');
    await chooseOrder('CAR-2024-0002');
    expect(await page.inputValue('#pay-amount')).toBe('');
    await reload();
    await chooseOrder('CAR-2024-0002');
    expect(await page.inputValue('#pay-amount')).toBe('');
    // Taking the refunded amount again needs the operator's confirmation.
    await page.fill('#pay-amount', '10000.00');
    await page.click('#pay-submit');
    await page.waitForSelector('#pay-confirm:not([hidden])');
    expect(await page.textContent('#pay-confirm-text')).toContain('Nothing is due on CAR-2024-0002');
    await page.click('#pay-confirm-no');
    expect(await daemonOperations('CAR-2024-0002')).toHaveLength(2);
    await screenshot(page, 'guards-2-refund-not-due');
  });

  it('an over-paid order shows a warning, not "paid in full"', async () => {
    await chooseOrder('CAR-2024-0003'); // ¥215,800.00
    await chooseCard('visa-chip');
    const first = await pay('215800.00');
    await waitForState(first, 'completed');
    await page.waitForSelector('#order-due:has-text("paid in full")');
    expect(await page.locator('#order-over').count()).toBe(0);

    await page.fill('#pay-amount', '123456.00');
    await page.click('#pay-submit');
    await page.waitForSelector('#pay-confirm:not([hidden])');
    const second = await started(() => page.click('#pay-confirm-yes'));
    await waitForState(second, 'completed');
    await page.waitForSelector('#order-over');
    const warning = 'Paid ¥339,256.00 on a ¥215,800.00 price: ¥123,456.00 over';
    expect(await page.textContent('#order-over')).toContain(warning);
    expect(await page.textContent('#order-due')).toBe('¥123,456.00 over');
    await page.waitForSelector('#order-list button[data-order="CAR-2024-0003"] .due[data-paid="over"]');
    await screenshot(page, 'guards-3-over-paid');

    // The daemon's totals, not the page's memory: still a warning after a reload.
    await reload();
    await chooseOrder('CAR-2024-0003');
    await page.waitForSelector('#order-over');
    expect(await page.textContent('#order-over')).toContain(warning);
  });

  it('switching orders re-scopes the receipt and signature panels', async () => {
    await chooseOrder('CAR-2024-0004');
    await chooseCard('cup-debit-chip');
    const id = await pay('1000.00');
    await waitForState(id, 'completed');
    // The pad waits for this payment's signature; its receipt is open.
    await page.waitForSelector('#sign-for:has-text("CAR-2024-0004")');
    await page.click(`${row(id)} button[data-action="receipt"]`);
    await page.waitForSelector(`#receipt[data-payment-id="${id}"]`);

    await chooseOrder('CAR-2024-0003');
    expect(await page.textContent('#sign-for')).not.toContain('CAR-2024-0004');
    expect(await page.textContent('#sign-for')).toContain('CAR-2024-0003');
    expect(await page.getAttribute('#sign', 'data-payment-id')).toBeNull();
    expect(await page.getAttribute('#receipt', 'data-payment-id')).toBeNull();
    expect(await page.locator('#receipt-frame, #receipt .slip').count()).toBe(0);
    // Drawing on the pad signs nothing: no payment of this order waits for it.
    const box = (await page.locator('#sign-pad').boundingBox())!;
    await page.mouse.move(box.x + 20, box.y + 20);
    await page.mouse.down();
    await page.mouse.move(box.x + 200, box.y + 80);
    await page.mouse.up();
    expect(await page.isDisabled('#sign-save')).toBe(true);
    await screenshot(page, 'guards-4-switched-order');

    // Back on the order: the payment still offers "Sign" (it was never signed).
    await chooseOrder('CAR-2024-0004');
    await page.waitForSelector(`${row(id)} button[data-action="sign"]`);
    await page.click(`${row(id)} button[data-action="sign"]`);
    await page.waitForSelector(`#sign-for:has-text("${id.slice(-6)}")`);
  });

  it.skipIf(!HAS_SIGNATURE || !HAS_RECEIPT)(
    'a payment signed before a reload does not offer "Sign" again',
    async () => {
      await chooseOrder('CAR-2024-0004');
      await chooseCard('cup-debit-chip');
      const signed = await pay('2000.00');
      await waitForState(signed, 'completed');
      await page.waitForSelector(`#sign-for:has-text("${signed.slice(-6)}")`);
      await sign();
      await page.waitForSelector('#sign-status[data-status="stored"]');
      await page.waitForSelector(`${row(signed)} img.sig`);
      const unsigned = await pay('3000.00');
      await waitForState(unsigned, 'completed');

      await reload();
      await chooseOrder('CAR-2024-0004');
      // What the daemon keeps: the other one still offers "Sign" (the page has asked the daemon about
      // both by then), the signed one does not.
      await page.waitForSelector(`${row(unsigned)} button[data-action="sign"]`);
      expect(await page.locator(`${row(signed)} button[data-action="sign"]`).count()).toBe(0);
      expect(await page.getAttribute(row(signed), 'data-signed')).toBe('true');
      expect(await page.textContent(row(signed))).toContain('signed');
      await screenshot(page, 'guards-5-signed-after-reload');
    },
  );
});
