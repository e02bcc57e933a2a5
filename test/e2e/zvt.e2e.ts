/**
 * The browser suite's ZVT run: the demo started as `posbridge-sim demo --terminal zvt` (the daemon with
 * the ZVT terminal simulator over TCP, a `zvt` configuration block, no acquirer link and no reader),
 * and the same demo CRM page, unchanged for payments: an order paid in two payments, part of one
 * refunded, one voided, a decline by amount, and a lost completion that shows `unknown` and then
 * `completed` (repaired from the terminal's repeat receipt). The simulator panel shows the ZVT
 * terminal's behaviours because terminal.list says kind zvt. Every wait is on a DOM state, never a
 * sleep. Screenshots go to test-results/e2e/ (zvt-*.png).
 */
import { describe, expect, it } from 'vitest';
import { screenshot } from './browser.js';
import { useDemoPage } from './demo-page.js';

// The in-page callbacks run in the browser; the project compiles without the DOM library.
interface PageElement {
  dataset: Record<string, string | undefined>;
  textContent: string | null;
  value: string;
  checked: boolean;
}
declare const document: {
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement> & Iterable<PageElement>;
};

interface ZvtTxn {
  type: string;
  status: string;
  amount: number;
  receiptNo: string | null;
  originalReceiptNo?: string;
  reversal?: string;
}

const ui = useDemoPage({
  name: 'zvt',
  demo: {
    terminal: 'zvt',
    // Fast but not instant, so the terminal's prompts reach the page one by one.
    customerDelayMs: 40,
    logLevel: 'silent',
  },
  // terminal.list said kind zvt: the page says so and shows the ZVT simulator panel.
  ready: async (page) => {
    await page.waitForSelector('#reader[data-kind="zvt"][data-state="ready"]');
    await page.waitForSelector('#sim[data-terminal="zvt"]', { state: 'attached' });
  },
});

// ------------------------------------------------------------------ page actions

async function openSimulator(): Promise<void> {
  if (!(await ui.page.$eval('#sim', (d) => (d as unknown as { open: boolean }).open)))
    await ui.page.click('#sim summary');
  await ui.page.waitForSelector('#sim-zvt:not([hidden])');
  await ui.page.waitForSelector('#sim-zvt-status[data-card]');
}

/** Ticks or unticks a ZVT behaviour and waits until the simulator confirms it. */
async function setBehaviour(flag: string, on: boolean): Promise<void> {
  await openSimulator();
  await ui.page.setChecked(`#zvt-${flag}`, on);
  await ui.page.waitForFunction(
    ([f, want]) => {
      const flags = (document.querySelector('#sim-zvt-status')!.dataset['flags'] ?? '').split(' ');
      return flags.includes(f as string) === want;
    },
    [flag, on] as const,
  );
}

/** Types the amount, takes the payment, returns its id once the live panel follows it. */
async function pay(amount: string): Promise<string> {
  const before = await ui.page.getAttribute('#live', 'data-payment-id');
  await ui.page.fill('#pay-amount', amount);
  await ui.page.click('#pay-submit');
  return followNew(before);
}

async function followNew(before: string | null): Promise<string> {
  const handle = await ui.page.waitForFunction((b) => {
    const id = document.querySelector('#live')!.dataset['paymentId'];
    return id && id !== b ? id : undefined;
  }, before);
  return (await handle.jsonValue()) as string;
}

async function refund(paymentId: string, amount: string): Promise<string> {
  await ui.page.click(`${ui.row(paymentId)} button[data-action="refund"]`);
  await ui.page.waitForSelector('#refund-form:not([hidden])');
  await ui.page.fill('#refund-amount', amount);
  const before = await ui.page.getAttribute('#live', 'data-payment-id');
  await ui.page.click('#refund-submit');
  return followNew(before);
}

/** The terminal's own journal (the simulator's ledger, through the demo's /sim/zvt/ proxy). */
async function terminalLedger(): Promise<ZvtTxn[]> {
  return (await (await fetch(`${ui.base}/sim/zvt/transactions`)).json()) as ZvtTxn[];
}

// ------------------------------------------------------------------ scenarios

describe('demo CRM page in chromium, paying through a ZVT terminal', () => {
  it('pays an order in two payments', async () => {
    await ui.chooseOrder('CAR-2024-0001');
    expect(await ui.page.inputValue('#pay-amount')).toBe('128000.00');
    expect(await ui.page.textContent('#reader')).toMatch(/^ZVT terminal 52500001: idle$/);

    const first = await pay('64000.00');
    await ui.waitForState(first, 'completed');
    expect(await ui.page.textContent('#live-h')).toBe('Payment terminal (ZVT)');
    // The terminal's prompts (intermediate status 04 FF) reached the page live, in order.
    const prompts = await ui.page.$$eval(`#log li[data-payment-id="${first}"][data-progress]`, (lis) =>
      lis.map((li) => (li as unknown as PageElement).dataset['progress']).reverse(),
    );
    expect(prompts).toEqual(
      expect.arrayContaining(['present_card', 'pin_entry_started', 'processing', 'remove_card']),
    );
    expect(prompts.indexOf('present_card')).toBeLessThan(prompts.indexOf('remove_card'));
    expect(await ui.page.textContent('#live-prompt')).toContain('Approved ¥64,000.00');
    // The card as the terminal masked it.
    expect(await ui.page.textContent(ui.row(first))).toMatch(/621234\*+0010/);

    await ui.page.waitForFunction(() => document.querySelector('#pay-amount')!.value === '64000.00');
    const second = await pay('64000.00');
    await ui.waitForState(second, 'completed');
    await ui.page.waitForSelector('#order-due:has-text("paid in full")');
    expect(await ui.page.textContent('#order-paid')).toBe('¥128,000.00');
    expect(await ui.page.locator('#order-payments li.payment[data-state="completed"]').count()).toBe(2);
    await screenshot(ui.page, 'zvt-1-order-paid-in-two-payments');

    // The terminal booked exactly these two.
    const sales = (await terminalLedger()).filter((t) => t.type === 'sale' && t.status === 'approved');
    expect(sales.map((t) => t.amount)).toEqual([6_400_000, 6_400_000]);
  });

  it('refunds part of a payment; a terminal without refunds says so in the cashier’s words', async () => {
    await ui.chooseOrder('CAR-2024-0002');
    const sale = await pay('96500.00');
    await ui.waitForState(sale, 'completed');

    const refundId = await refund(sale, '10000.00');
    await ui.waitForState(refundId, 'completed');
    await ui.page.waitForSelector(`${ui.row(refundId)}[data-kind="refund"]`);
    await ui.page.waitForSelector('#order-refunded:has-text("¥10,000.00")');
    expect(await ui.page.textContent('#order-due')).toBe('¥10,000.00');
    expect(await ui.page.textContent(ui.row(sale))).toContain('refunded ¥10,000.00 of ¥96,500.00');
    await screenshot(ui.page, 'zvt-2-partial-refund');
    const refunds = (await terminalLedger()).filter((t) => t.type === 'refund');
    expect(refunds).toMatchObject([{ status: 'refunded', amount: 1_000_000 }]);

    // The terminal refuses refunds (84 83): the refund ends failed, explained, nothing moved.
    await setBehaviour('refundsDisabled', true);
    const refused = await refund(sale, '5000.00');
    await ui.waitForState(refused, 'failed');
    const why = await ui.page.textContent(`${ui.row(refused)} [data-role="why"]`);
    expect(why).toContain('This terminal cannot do refunds: nothing was sent and nothing was charged');
    expect(await ui.page.textContent('#live-note')).toContain('This terminal cannot do refunds');
    expect(await ui.page.textContent('#order-refunded')).toBe('¥10,000.00');
    await screenshot(ui.page, 'zvt-2-refund-not-supported');
    await setBehaviour('refundsDisabled', false);
    expect((await terminalLedger()).filter((t) => t.type === 'refund')).toHaveLength(1);
  });

  it('declines by amount, and voids a payment', async () => {
    await ui.chooseOrder('CAR-2024-0003');
    // Amounts ending in .51 are declined by the terminal's host (insufficient funds: result 33).
    const declined = await pay('100.51');
    await ui.waitForState(declined, 'declined');
    // The terminal's result 33 is the host's 51 in binary: insufficient funds, the code kept for support.
    expect(await ui.page.textContent(`${ui.row(declined)} [data-role="why"]`)).toContain(
      'Declined: insufficient funds',
    );
    expect(await ui.page.textContent(`${ui.row(declined)} .code`)).toContain('declined · 33');

    const sale = await pay('50000.00');
    await ui.waitForState(sale, 'completed');
    await ui.page.click(`${ui.row(sale)} button[data-action="void"]`);
    await ui.page.waitForSelector(`${ui.row(sale)} button[data-action="void-confirm"]`);
    expect(await ui.page.textContent(ui.row(sale))).toContain('Void all ¥50,000.00?');
    const before = await ui.page.getAttribute('#live', 'data-payment-id');
    await ui.page.click(`${ui.row(sale)} button[data-action="void-confirm"]`);
    const voidId = await followNew(before);
    await ui.waitForState(voidId, 'completed');
    await ui.page.waitForSelector(`${ui.row(voidId)}[data-kind="void"]`);
    await ui.page.waitForSelector(`${ui.row(sale)} .muted:has-text("voided")`);
    expect(await ui.page.textContent('#order-paid')).toBe('¥0.00');
    expect(await ui.page.textContent('#order-due')).toBe('¥215,800.00');
    await screenshot(ui.page, 'zvt-3-voided');

    const ledger = await terminalLedger();
    const original = ledger.find((t) => t.type === 'sale' && t.amount === 5_000_000)!;
    expect(original).toMatchObject({ status: 'reversed', reversal: 'void' });
    expect(ledger.find((t) => t.type === 'void')).toMatchObject({
      status: 'approved',
      originalReceiptNo: original.receiptNo,
    });
  });

  it('shows a payment whose completion was lost as unknown, then completed from the terminal', async () => {
    await ui.chooseOrder('CAR-2024-0004');
    // The terminal books the payment, then the link drops before its Completion (06 0F).
    await setBehaviour('approveThenDropCompletion', true);
    const id = await pay('189900.00');
    await ui.waitForState(id, 'completed');
    // It went through unknown: the durable events the page received, and its timeline.
    await ui.page.waitForSelector(`#log li[data-payment-id="${id}"][data-state="unknown"]`, {
      state: 'attached',
    });
    expect(await ui.page.getAttribute('#live-timeline', 'data-states')).toMatch(
      /authorizing unknown .*completed/,
    );
    expect(await ui.page.textContent('#live-note')).toContain(
      'its repeat receipt shows the payment approved: the customer is charged once',
    );
    expect(await ui.page.textContent('#order-paid')).toBe('¥189,900.00');
    await ui.page.waitForSelector('#order-due:has-text("paid in full")');
    await screenshot(ui.page, 'zvt-4-lost-completion-repaired');
    // One-shot: the fault cleared itself, and the panel shows it.
    await ui.page.waitForFunction(
      () => !(document.querySelector('#sim-zvt-status')!.dataset['flags'] ?? '').includes('approveThenDrop'),
    );
    expect(await ui.page.isChecked('#zvt-approveThenDropCompletion')).toBe(false);
    // Charged once on the terminal.
    const sales = (await terminalLedger()).filter((t) => t.type === 'sale' && t.amount === 18_990_000);
    expect(sales).toMatchObject([{ status: 'approved' }]);
  });
});
