/**
 * The browser suite: the demo CRM page (simulators/crm) in Debian's chromium, against the demo
 * composition (daemon + host and reader simulators) started in this process. The page is driven like
 * a salesperson would: choose an order, set the simulated card or a fault in the simulator panel, take
 * payments, sign, open receipts, refund. Every wait is on a DOM state (the page mirrors payment states
 * in data-state attributes), never a fixed sleep. Screenshots go to test-results/e2e/.
 */
import { describe, expect, it } from 'vitest';
import { METHODS } from '../../src/api/schemas.js';
import { screenshot } from './browser.js';
import { useDemoPage } from './demo-page.js';

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

// Methods another engineer may be adding right now: the page works with and without them.
const HAS_SIGNATURE = 'payment.signature' in METHODS;
const HAS_RECEIPT = 'receipt.get' in METHODS;

const ui = useDemoPage({
  name: 'crm',
  demo: {
    // Fast but not instant, so the reader's prompts reach the page one by one.
    customerDelayMs: 40,
    // A lost host answer becomes `unknown` after 2.5 s instead of 10 s.
    hostResponseMs: 2500,
    logLevel: 'silent',
  },
});

// ------------------------------------------------------------------ page actions

async function openSimulators(): Promise<void> {
  if (!(await ui.page.$eval('#sim', (d) => (d as unknown as { open: boolean }).open)))
    await ui.page.click('#sim summary');
  await ui.page.waitForSelector('#sim-card option', { state: 'attached' });
}

async function chooseCard(cardId: string): Promise<void> {
  await openSimulators();
  await ui.page.selectOption('#sim-card', cardId);
  await ui.page.waitForSelector(`#sim-reader-status[data-card="${cardId}"]`);
}

/** Types the amount, takes the payment, returns its id once the reader panel follows it. */
async function pay(amount: string): Promise<string> {
  return ui.started(async () => {
    await ui.page.fill('#pay-amount', amount);
    await ui.page.click('#pay-submit');
  });
}

async function hostTransactions(): Promise<
  { stan: string; status: string; type: string; amount: number; refundedAmount: number }[]
> {
  return (await (await fetch(`${ui.base}/sim/host/transactions?tid=DEMO0001`)).json()) as never;
}

async function paymentStan(paymentId: string): Promise<string> {
  return ui.page.evaluate((id) => window.posbridgeDemo.payments.get(id)!.host.stan, paymentId);
}

// ------------------------------------------------------------------ scenarios

describe('demo CRM page in chromium', () => {
  it('pays an order in two payments with a signature', async () => {
    await ui.chooseOrder('CAR-2024-0001');
    await chooseCard('cup-debit-chip');
    expect(await ui.page.inputValue('#pay-amount')).toBe('128000.00');

    const first = await pay('64000.00');
    await ui.waitForState(first, 'completed');
    // The reader's prompts reached the page live, in order.
    const prompts = await ui.page.$$eval(`#log li[data-payment-id="${first}"][data-progress]`, (lis) =>
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
    expect(await ui.page.textContent('#live-prompt')).toContain('Approved ¥64,000.00');

    // The pad opened for this payment; the customer signs.
    await ui.page.waitForSelector('#sign-for:has-text("¥64,000.00")');
    await ui.sign();
    await ui.page.waitForSelector(`#sign-status[data-status="${HAS_SIGNATURE ? 'stored' : 'unavailable'}"]`);
    expect(await ui.page.getAttribute(`${ui.row(first)} img.sig`, 'src')).toMatch(/^data:image\/png;base64,/);
    await screenshot(ui.page, '1-first-payment-signed');
    if (HAS_SIGNATURE && HAS_RECEIPT) {
      // The merchant copy carries the signature the daemon kept.
      await ui.page.click(`${ui.row(first)} button[data-action="receipt"]`);
      await ui.page.waitForSelector(`#receipt[data-payment-id="${first}"][data-source="daemon"]`);
      await ui.page.click('#receipt button[data-copy="merchant"]');
      await ui.page.waitForSelector('#receipt button[data-copy="merchant"][aria-pressed="true"]');
      await ui.page.frameLocator('#receipt-frame').locator('img, svg').first().waitFor();
      await screenshot(ui.page, '1-merchant-copy-with-signature');
    }

    // The rest of the amount: the page proposes what is still due.
    await ui.page.waitForFunction(() => document.querySelector('#pay-amount')!.value === '64000.00');
    const second = await pay('64000.00');
    await ui.waitForState(second, 'completed');
    await ui.page.waitForSelector('#order-due:has-text("paid in full")');
    await ui.page.waitForSelector('#order-list button[data-order="CAR-2024-0001"] .due[data-paid="true"]');
    expect(await ui.page.textContent('#order-paid')).toBe('¥128,000.00');
    expect(await ui.page.locator('#order-payments li.payment[data-state="completed"]').count()).toBe(2);
    await screenshot(ui.page, '1-order-paid-in-two-payments');
  });

  it('refunds part of a payment', async () => {
    await ui.chooseOrder('CAR-2024-0002');
    await chooseCard('cup-credit-chip');
    const sale = await pay('96500.00');
    await ui.waitForState(sale, 'completed');

    await ui.page.click(`${ui.row(sale)} button[data-action="refund"]`);
    await ui.page.waitForSelector('#refund-form:not([hidden])');
    expect(await ui.page.inputValue('#refund-amount')).toBe('96500.00');
    await ui.page.fill('#refund-amount', '10000.00');
    await ui.page.click('#refund-submit');
    const refund = await ui.page.waitForFunction((s) => {
      const id = document.querySelector('#live')!.dataset['paymentId'];
      return id && id !== s ? id : undefined;
    }, sale);
    const refundId = (await refund.jsonValue()) as string;
    await ui.waitForState(refundId, 'completed');
    await ui.page.waitForSelector(`${ui.row(refundId)}[data-kind="refund"]`);
    await ui.page.waitForSelector('#order-refunded:has-text("¥10,000.00")');
    expect(await ui.page.textContent('#order-due')).toBe('¥10,000.00');
    expect(await ui.page.textContent(ui.row(sale))).toContain('refunded ¥10,000.00 of ¥96,500.00');
    // The refund button now offers what is left.
    await ui.page.click(`${ui.row(sale)} button[data-action="refund"]`);
    expect(await ui.page.inputValue('#refund-amount')).toBe('86500.00');
    await screenshot(ui.page, '2-partial-refund');

    // The acquirer agrees.
    const stan = await paymentStan(sale);
    const tx = (await hostTransactions()).find((t) => t.stan === stan && t.type === 'sale')!;
    expect(tx).toMatchObject({ status: 'partially_refunded', refundedAmount: 1_000_000 });
  });

  it('takes a device-token payment whose receipt shows the device account', async () => {
    await ui.chooseOrder('CAR-2024-0003');
    await chooseCard('visa-token-applepay');
    const id = await pay('50000.00');
    await ui.waitForState(id, 'completed');
    // Apple Pay: the device account (DPAN) last four, not a card number.
    expect(await ui.page.textContent(ui.row(id))).toContain('device account •••• 0101');

    await ui.page.click(`${ui.row(id)} button[data-action="receipt"]`);
    await ui.page.waitForSelector(`#receipt[data-payment-id="${id}"][data-source]`);
    const source = await ui.page.getAttribute('#receipt', 'data-source');
    expect(source).toBe(HAS_RECEIPT ? 'daemon' : 'page');
    const text =
      source === 'daemon'
        ? await ui.page.frameLocator('#receipt-frame').locator('body').innerText()
        : await ui.page.locator('#receipt .slip').innerText();
    expect(text).toMatch(/device account/i);
    expect(text).toContain('0101');
    // Neither the device account number nor the funding card's number (simulators/cards.json).
    expect(text).not.toContain('4761739001010101');
    expect(text).not.toContain('4111112222333347');
    await screenshot(ui.page, '3-device-token-receipt');
    await chooseCard('cup-debit-chip');
  });

  it('shows a payment whose host answer was lost as unknown until recovery settles it', async () => {
    await ui.chooseOrder('CAR-2024-0004');
    await chooseCard('cup-debit-chip');
    // The sale's answer is lost, and so is the first status inquiry's: the payment stays unknown
    // for a whole response timeout, then posbridge reverses it.
    await ui.page.selectOption('#sim-fault-action', 'drop_response');
    await ui.page.selectOption('#sim-fault-target', '0200');
    await ui.page.click('#sim-fault-add');
    await ui.page.waitForSelector('#sim-faults li[data-action-name="drop_response"]');
    await ui.page.selectOption('#sim-fault-target', '0820');
    await ui.page.click('#sim-fault-add');
    await ui.page.waitForSelector('#sim-faults[data-count="2"]');

    const id = await pay('189900.00');
    await ui.waitForState(id, 'unknown');
    expect(await ui.page.textContent('#live-prompt')).toBe('Checking with the bank — do not charge again');
    await screenshot(ui.page, '4-host-answer-lost-unknown');

    await ui.waitForState(id, 'reversed', 30_000);
    expect(await ui.page.getAttribute('#live-timeline', 'data-states')).toMatch(
      /authorizing unknown .*reversed/,
    );
    // Not all green: the bank step and the result show the reversal as a warning.
    expect(await ui.page.getAttribute('#live [data-step="result"]', 'data-status')).toBe('warning');
    expect(await ui.page.textContent('#live-prompt')).toContain('not charged');
    // Nothing was taken for the order; the acquirer holds the sale reversed.
    expect(await ui.page.textContent('#order-paid')).toBe('¥0.00');
    expect(await ui.page.textContent('#order-due')).toBe('¥189,900.00');
    const stan = await paymentStan(id);
    const tx = (await hostTransactions()).find((t) => t.stan === stan && t.type === 'sale')!;
    expect(tx.status).toBe('reversed');
    await screenshot(ui.page, '4-host-answer-lost-reversed');
  });
});
