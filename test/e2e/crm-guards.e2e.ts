/**
 * The demo CRM page's guards, in Debian's chromium against the demo composition (as crm.e2e.ts): amounts
 * are checked against the order (an amount above what is due waits for the operator's confirmation, a
 * refund is never proposed again, an over-paid order is a warning), and the receipt and signature panels
 * belong to the open order, with "signed" coming from the daemon (so it survives a reload). Every wait
 * is on a DOM state, never a fixed sleep.
 */
import { describe, expect, it } from 'vitest';
import { METHODS } from '../../src/api/schemas.js';
import { screenshot } from './browser.js';
import { useDemoPage } from './demo-page.js';

// The in-page callbacks run in the browser; the project compiles without the DOM library.
declare const window: {
  posbridgeDemo: {
    pb: { order: { get(orderId: string): Promise<{ operations: { kind: string; amount: number }[] }> } };
  };
};

const HAS_SIGNATURE = 'payment.signature' in METHODS;
const HAS_RECEIPT = 'receipt.get' in METHODS;

const ui = useDemoPage({
  name: 'guards',
  demo: {
    customerDelayMs: 40,
    hostResponseMs: 2500,
    logLevel: 'silent',
  },
});

// ------------------------------------------------------------------ page actions

async function reload(): Promise<void> {
  await ui.page.reload();
  await ui.loaded();
}

async function chooseCard(cardId: string): Promise<void> {
  if (!(await ui.page.$eval('#sim', (d) => (d as unknown as { open: boolean }).open)))
    await ui.page.click('#sim summary');
  await ui.page.waitForSelector('#sim-card option', { state: 'attached' });
  await ui.page.selectOption('#sim-card', cardId);
  await ui.page.waitForSelector(`#sim-reader-status[data-card="${cardId}"]`);
}

async function pay(amount: string): Promise<string> {
  return ui.started(async () => {
    await ui.page.fill('#pay-amount', amount);
    await ui.page.click('#pay-submit');
  });
}

/** The order's operations as the daemon has them (order.get through the page's client). */
async function daemonOperations(orderId: string): Promise<{ kind: string; amount: number }[]> {
  return ui.page.evaluate(async (id) => (await window.posbridgeDemo.pb.order.get(id)).operations, orderId);
}

// ------------------------------------------------------------------ scenarios

describe('demo CRM page guards', () => {
  it('asks before charging more than is due (card, QR, payment code); nothing is sent until confirmed', async () => {
    await ui.chooseOrder('CAR-2024-0001'); // ¥128,000.00
    await chooseCard('cup-credit-chip');

    // Card: ¥999,999.99 on ¥128,000.00 due is not sent; the page asks, in yuan.
    await ui.page.fill('#pay-amount', '999,999.99');
    await ui.page.click('#pay-submit');
    await ui.page.waitForSelector('#pay-confirm[data-how="card"]:not([hidden])');
    expect(await ui.page.textContent('#pay-confirm-text')).toBe(
      '¥999,999.99 is more than the ¥128,000.00 due on CAR-2024-0001: ¥871,999.99 over the price. Charge ¥999,999.99 by card anyway?',
    );
    expect(await ui.page.getAttribute('#pay-confirm', 'data-amount')).toBe('99999999');
    await screenshot(ui.page, 'guards-1-over-due-confirmation');
    await ui.page.click('#pay-confirm-no');
    await ui.page.waitForSelector('#pay-confirm', { state: 'hidden' });

    // Alipay QR and a WeChat Pay payment code: the same question, nothing created meanwhile.
    await ui.page.click('#pay-alipay');
    await ui.page.waitForSelector('#pay-confirm[data-how="alipay"]:not([hidden])');
    await ui.page.click('#pay-confirm-no');
    await ui.page.click('#pay-code');
    await ui.page.keyboard.type('134567890123456789');
    await ui.page.keyboard.press('Enter');
    await ui.page.waitForSelector('#pay-confirm[data-how="code-wechat"]:not([hidden])');
    expect(await ui.page.inputValue('#pay-code')).toBe('');
    await ui.page.click('#pay-confirm-no');
    expect(await daemonOperations('CAR-2024-0001')).toEqual([]);
    expect(await ui.page.locator('#order-payments li.payment').count()).toBe(0);
    expect(await ui.page.locator('#live[data-payment-id]').count()).toBe(0);

    // Typing another amount withdraws a pending confirmation.
    await ui.page.fill('#pay-amount', '251456.00');
    await ui.page.click('#pay-submit');
    await ui.page.waitForSelector('#pay-confirm[data-amount="25145600"]:not([hidden])');
    await ui.page.fill('#pay-amount', '251456.01');
    await ui.page.waitForSelector('#pay-confirm', { state: 'hidden' });
    await ui.page.fill('#pay-amount', '251456.00');
    await ui.page.click('#pay-submit');
    await ui.page.waitForSelector('#pay-confirm[data-amount="25145600"]:not([hidden])');
    expect(await daemonOperations('CAR-2024-0001')).toEqual([]);

    // Confirmed: now it is charged, once, for the amount confirmed.
    const id = await ui.started(() => ui.page.click('#pay-confirm-yes'));
    await ui.waitForState(id, 'completed');
    expect(await ui.page.isVisible('#pay-confirm')).toBe(false);
    const ops = await daemonOperations('CAR-2024-0001');
    expect(ops).toMatchObject([{ kind: 'sale', amount: 25_145_600 }]);
    // The order: ¥251,456 on a ¥128,000 price is not "paid in full".
    await ui.page.waitForSelector('#order-over');
    expect(await ui.page.textContent('#order-over')).toContain(
      'Paid ¥251,456.00 on a ¥128,000.00 price: ¥123,456.00 over',
    );
    expect(await ui.page.textContent('#order-due')).not.toContain('paid in full');

    // Amounts are parsed as text: no floats, at most two decimals, digits only.
    await ui.page.fill('#pay-amount', '12.345');
    await ui.page.click('#pay-submit');
    expect(await ui.page.textContent('#pay-error')).toContain('more than 2 decimals');
    await ui.page.fill('#pay-amount', '12a');
    await ui.page.click('#pay-submit');
    expect(await ui.page.textContent('#pay-error')).toContain('is not an amount');
    expect(await ui.page.isVisible('#pay-confirm')).toBe(false);
    expect(await daemonOperations('CAR-2024-0001')).toHaveLength(1);
  });

  it('after a partial refund, the refunded amount is not proposed as due', async () => {
    await ui.chooseOrder('CAR-2024-0002'); // ¥96,500.00
    await chooseCard('visa-chip');
    expect(await ui.page.inputValue('#pay-amount')).toBe('96500.00');
    const sale = await pay('96500.00');
    await ui.waitForState(sale, 'completed');
    await ui.page.waitForSelector('#order-due:has-text("paid in full")');

    await ui.page.click(`${ui.row(sale)} button[data-action="refund"]`);
    await ui.page.fill('#refund-amount', '10000.00');
    const refund = await ui.started(() => ui.page.click('#refund-submit'));
    await ui.waitForState(refund, 'completed');
    await ui.page.waitForSelector('#order-refunded:has-text("¥10,000.00")');
    // The balance shows the refund; the amount to take does not propose it again.
    expect(await ui.page.textContent('#order-due')).toBe('¥10,000.00');
    expect(await ui.page.inputValue('#pay-amount')).toBe('');
    expect(await ui.page.getAttribute('#order', 'data-to-take')).toBe('0');
    expect(await ui.page.textContent('#order-due-note')).toContain('not due again');
    // Neither after switching orders nor after a reload.
    await ui.chooseOrder('CAR-2024-0003');
    await ui.chooseOrder('CAR-2024-0002');
    expect(await ui.page.inputValue('#pay-amount')).toBe('');
    await reload();
    await ui.chooseOrder('CAR-2024-0002');
    expect(await ui.page.inputValue('#pay-amount')).toBe('');
    // Taking the refunded amount again needs the operator's confirmation.
    await ui.page.fill('#pay-amount', '10000.00');
    await ui.page.click('#pay-submit');
    await ui.page.waitForSelector('#pay-confirm:not([hidden])');
    expect(await ui.page.textContent('#pay-confirm-text')).toContain('Nothing is due on CAR-2024-0002');
    await ui.page.click('#pay-confirm-no');
    expect(await daemonOperations('CAR-2024-0002')).toHaveLength(2);
    await screenshot(ui.page, 'guards-2-refund-not-due');
  });

  it('an over-paid order shows a warning, not "paid in full"', async () => {
    await ui.chooseOrder('CAR-2024-0003'); // ¥215,800.00
    await chooseCard('visa-chip');
    const first = await pay('215800.00');
    await ui.waitForState(first, 'completed');
    await ui.page.waitForSelector('#order-due:has-text("paid in full")');
    expect(await ui.page.locator('#order-over').count()).toBe(0);

    await ui.page.fill('#pay-amount', '123456.00');
    await ui.page.click('#pay-submit');
    await ui.page.waitForSelector('#pay-confirm:not([hidden])');
    const second = await ui.started(() => ui.page.click('#pay-confirm-yes'));
    await ui.waitForState(second, 'completed');
    await ui.page.waitForSelector('#order-over');
    const warning = 'Paid ¥339,256.00 on a ¥215,800.00 price: ¥123,456.00 over';
    expect(await ui.page.textContent('#order-over')).toContain(warning);
    expect(await ui.page.textContent('#order-due')).toBe('¥123,456.00 over');
    await ui.page.waitForSelector('#order-list button[data-order="CAR-2024-0003"] .due[data-paid="over"]');
    await screenshot(ui.page, 'guards-3-over-paid');

    // The daemon's totals, not the page's memory: still a warning after a reload.
    await reload();
    await ui.chooseOrder('CAR-2024-0003');
    await ui.page.waitForSelector('#order-over');
    expect(await ui.page.textContent('#order-over')).toContain(warning);
  });

  it('switching orders re-scopes the receipt and signature panels', async () => {
    await ui.chooseOrder('CAR-2024-0004');
    await chooseCard('cup-debit-chip');
    const id = await pay('1000.00');
    await ui.waitForState(id, 'completed');
    // The pad waits for this payment's signature; its receipt is open.
    await ui.page.waitForSelector('#sign-for:has-text("CAR-2024-0004")');
    await ui.page.click(`${ui.row(id)} button[data-action="receipt"]`);
    await ui.page.waitForSelector(`#receipt[data-payment-id="${id}"]`);

    await ui.chooseOrder('CAR-2024-0003');
    expect(await ui.page.textContent('#sign-for')).not.toContain('CAR-2024-0004');
    expect(await ui.page.textContent('#sign-for')).toContain('CAR-2024-0003');
    expect(await ui.page.getAttribute('#sign', 'data-payment-id')).toBeNull();
    expect(await ui.page.getAttribute('#receipt', 'data-payment-id')).toBeNull();
    expect(await ui.page.locator('#receipt-frame, #receipt .slip').count()).toBe(0);
    // Drawing on the pad signs nothing: no payment of this order waits for it.
    const box = (await ui.page.locator('#sign-pad').boundingBox())!;
    await ui.page.mouse.move(box.x + 20, box.y + 20);
    await ui.page.mouse.down();
    await ui.page.mouse.move(box.x + 200, box.y + 80);
    await ui.page.mouse.up();
    expect(await ui.page.isDisabled('#sign-save')).toBe(true);
    await screenshot(ui.page, 'guards-4-switched-order');

    // Back on the order: the payment still offers "Sign" (it was never signed).
    await ui.chooseOrder('CAR-2024-0004');
    await ui.page.waitForSelector(`${ui.row(id)} button[data-action="sign"]`);
    await ui.page.click(`${ui.row(id)} button[data-action="sign"]`);
    await ui.page.waitForSelector(`#sign-for:has-text("${id.slice(-6)}")`);
  });

  it.skipIf(!HAS_SIGNATURE || !HAS_RECEIPT)(
    'a payment signed before a reload does not offer "Sign" again',
    async () => {
      await ui.chooseOrder('CAR-2024-0004');
      await chooseCard('cup-debit-chip');
      const signed = await pay('2000.00');
      await ui.waitForState(signed, 'completed');
      await ui.page.waitForSelector(`#sign-for:has-text("${signed.slice(-6)}")`);
      await ui.sign();
      await ui.page.waitForSelector('#sign-status[data-status="stored"]');
      await ui.page.waitForSelector(`${ui.row(signed)} img.sig`);
      const unsigned = await pay('3000.00');
      await ui.waitForState(unsigned, 'completed');

      await reload();
      await ui.chooseOrder('CAR-2024-0004');
      // What the daemon keeps: the other one still offers "Sign" (the page has asked the daemon about
      // both by then), the signed one does not.
      await ui.page.waitForSelector(`${ui.row(unsigned)} button[data-action="sign"]`);
      expect(await ui.page.locator(`${ui.row(signed)} button[data-action="sign"]`).count()).toBe(0);
      expect(await ui.page.getAttribute(ui.row(signed), 'data-signed')).toBe('true');
      expect(await ui.page.textContent(ui.row(signed))).toContain('signed');
      await screenshot(ui.page, 'guards-5-signed-after-reload');
    },
  );
});
