/**
 * Scan-to-pay on the demo CRM page (simulators/crm) in Debian's chromium: one order paid by card, by an
 * Alipay QR the simulated customer scans and pays (the page renders the QR from /demo/qr.svg), and by a
 * WeChat Pay payment code typed into "Customer code" (as a USB barcode scanner would: digits, then
 * Enter); each partly refunded; the order's totals add up to the fen. Then a QR that expires and one the
 * cashier cancels. Every wait is on a DOM state, never a sleep. Screenshots: test-results/e2e/qr-….
 */
import { describe, expect, it } from 'vitest';
import { screenshot } from './browser.js';
import { useDemoPage } from './demo-page.js';

// The in-page callbacks run in the browser; the project compiles without the DOM library.
interface PageElement {
  dataset: Record<string, string | undefined>;
  textContent: string | null;
  complete?: boolean;
  naturalWidth?: number;
}
declare const document: {
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement> & Iterable<PageElement>;
};

const ui = useDemoPage({
  name: 'qr',
  demo: {
    customerDelayMs: 20,
    logLevel: 'silent',
  },
});

// ------------------------------------------------------------------ page actions

async function openSimulators(): Promise<void> {
  if (!(await ui.page.$eval('#sim', (d) => (d as unknown as { open: boolean }).open)))
    await ui.page.click('#sim summary');
}

async function payByQr(amount: string, method: 'alipay' | 'wechat'): Promise<string> {
  await ui.page.fill('#pay-amount', amount);
  const id = await ui.started(() => ui.page.click(`#pay-${method}`));
  // The QR is rendered (an image the browser loaded) while the payment waits for the customer.
  await ui.page.waitForSelector(`#live[data-payment-id="${id}"][data-qr="waiting"] img#live-qr`, {
    state: 'visible',
  });
  await ui.page.waitForFunction(() => {
    const img = document.querySelector('#live-qr');
    return !!img?.complete && (img.naturalWidth ?? 0) > 100;
  });
  return id;
}

async function refund(paymentId: string, amount: string): Promise<string> {
  await ui.page.click(`${ui.row(paymentId)} button[data-action="refund"]`);
  await ui.page.waitForSelector('#refund-form:not([hidden])');
  await ui.page.fill('#refund-amount', amount);
  const id = await ui.started(() => ui.page.click('#refund-submit'));
  await ui.waitForState(id, 'completed');
  return id;
}

const fen = (text: string | null): number => {
  const m = /^¥([\d,]+)\.(\d{2})$/.exec((text ?? '').trim());
  if (!m) throw new Error(`not an amount: ${text}`);
  return Number(m[1]!.replace(/,/g, '')) * 100 + Number(m[2]);
};

// ------------------------------------------------------------------ tests

describe('scan-to-pay on the demo CRM page', () => {
  it('one order paid by card, Alipay QR, WeChat Pay QR and a WeChat payment code, each partly refunded: it adds up', async () => {
    await ui.chooseOrder('CAR-2024-0001'); // ¥128,000.00

    // 1. Card.
    await ui.page.fill('#pay-amount', '50000.33');
    const card = await ui.started(() => ui.page.click('#pay-submit'));
    await ui.waitForState(card, 'completed');
    await ui.page.waitForSelector(`${ui.row(card)}[data-method="card"]`);

    // 2. Alipay QR: rendered, the customer scans and pays (simulator panel).
    const alipay = await payByQr('40000.45', 'alipay');
    expect(await ui.page.textContent('#live-prompt')).toBe(
      'Waiting: the customer scans this code with Alipay and pays ¥40,000.45',
    );
    await screenshot(ui.page, 'qr-1-alipay-qr-waiting');
    await openSimulators();
    await ui.page.waitForSelector(`#sim-qr[data-payment-id="${alipay}"]`);
    await ui.page.click('#sim-qr-pay');
    await ui.waitForState(alipay, 'completed');
    await ui.page.waitForSelector(`#live[data-qr="paid"]`);
    expect(await ui.page.textContent('#live-prompt')).toContain('Paid with Alipay: ¥40,000.45');
    expect(await ui.page.locator('#live-qr').count()).toBe(0);
    await ui.page.waitForSelector(`${ui.row(alipay)}[data-method="alipay"]`);
    // No signature for scan-to-pay, and no open QR left for the simulator.
    expect(await ui.page.locator(`${ui.row(alipay)} button[data-action="sign"]`).count()).toBe(0);
    await ui.page.waitForSelector('#sim-qr[data-payment-id=""]');

    // 3. WeChat Pay QR: the same flow through the WeChat gateway.
    expect(await ui.page.textContent('#order-due')).toBe('¥37,999.22');
    const wechatQr = await payByQr('30000.00', 'wechat');
    expect(await ui.page.textContent('#live-prompt')).toBe(
      'Waiting: the customer scans this code with WeChat Pay and pays ¥30,000.00',
    );
    await ui.page.waitForSelector(`#sim-qr[data-payment-id="${wechatQr}"]`);
    await ui.page.click('#sim-qr-pay');
    await ui.waitForState(wechatQr, 'completed');
    await ui.page.waitForSelector(`${ui.row(wechatQr)}[data-method="wechat"]`);
    expect(await ui.page.textContent('#live-prompt')).toContain('Paid with WeChat Pay: ¥30,000.00');
    await ui.page.waitForSelector('#sim-qr[data-payment-id=""]');

    // 4. WeChat Pay payment code for the rest, typed as a keyboard-wedge scanner does (digits, then Enter).
    expect(await ui.page.textContent('#order-due')).toBe('¥7,999.22');
    await ui.page.fill('#pay-amount', '7999.22');
    const wechat = await ui.started(async () => {
      await ui.page.click('#pay-code');
      await ui.page.keyboard.type('134567890123456789');
      await ui.page.keyboard.press('Enter');
    });
    await ui.waitForState(wechat, 'completed');
    await ui.page.waitForSelector(`${ui.row(wechat)}[data-method="wechat"]`);
    expect(await ui.page.inputValue('#pay-code')).toBe('');
    expect(await ui.page.textContent('#live-prompt')).toContain('Paid with WeChat Pay: ¥7,999.22');
    await ui.page.waitForSelector('#order-due:has-text("paid in full")');

    // 4. Part of each refunded.
    const refunds = [
      await refund(card, '1000.07'),
      await refund(alipay, '888.88'),
      await refund(wechatQr, '3000.01'),
      await refund(wechat, '12.34'),
    ];
    await ui.page.waitForSelector('#order-refunded:has-text("¥4,901.30")');
    expect(await ui.page.textContent(ui.row(alipay))).toContain('refunded ¥888.88 of ¥40,000.45');
    expect(await ui.page.textContent(ui.row(wechatQr))).toContain('refunded ¥3,000.01 of ¥30,000.00');
    expect(await ui.page.textContent(ui.row(wechat))).toContain('refunded ¥12.34 of ¥7,999.22');

    // 5. The order view adds up to the fen: its totals against the payments it lists.
    const rows = await ui.page.$$eval('#order-payments li.payment', (els) =>
      els.map((e) => ({
        id: (e as unknown as PageElement).dataset['paymentId'],
        kind: (e as unknown as PageElement).dataset['kind'],
        state: (e as unknown as PageElement).dataset['state'],
        amount: Number((e as unknown as PageElement).dataset['amount']),
      })),
    );
    const sum = (kind: string) =>
      rows.filter((r) => r.kind === kind && r.state === 'completed').reduce((a, r) => a + r.amount, 0);
    expect(rows.map((r) => r.id).sort()).toEqual([card, alipay, wechatQr, wechat, ...refunds].sort());
    expect(sum('sale')).toBe(12_800_000);
    expect(sum('refund')).toBe(490_130);
    expect(fen(await ui.page.textContent('#order-paid'))).toBe(sum('sale'));
    expect(fen(await ui.page.textContent('#order-refunded'))).toBe(sum('refund'));
    expect(fen(await ui.page.textContent('#order-due'))).toBe(12_800_000 - sum('sale') + sum('refund'));
    await screenshot(ui.page, 'qr-2-card-alipay-wechat-refunded');
  });

  it('the demo draws QR codes as SVG, and only for a short text', async () => {
    const ok = await fetch(
      `${ui.base}/demo/qr.svg?text=${encodeURIComponent('https://qr.alipay.com/bax0abc')}`,
    );
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('image/svg+xml');
    expect(await ok.text()).toMatch(/^<svg [^>]*viewBox/);
    expect((await fetch(`${ui.base}/demo/qr.svg`)).status).toBe(400);
    expect((await fetch(`${ui.base}/demo/qr.svg?text=${'x'.repeat(600)}`)).status).toBe(400);
  });

  it('a QR that expires and one the cashier cancels close without charging', async () => {
    await ui.chooseOrder('CAR-2024-0002');
    const expired = await payByQr('100.00', 'wechat');
    await openSimulators();
    await ui.page.waitForSelector(`#sim-qr[data-payment-id="${expired}"]`);
    await ui.page.click('#sim-qr-expire');
    await ui.waitForState(expired, 'cancelled');
    await ui.page.waitForSelector('#live[data-qr="closed"]');
    expect(await ui.page.textContent('#live-prompt')).toContain('nothing was charged');

    const cancelled = await payByQr('200.00', 'alipay');
    await ui.page.click('#live button[data-action="cancel"]');
    await ui.waitForState(cancelled, 'cancelled');
    expect(await ui.page.textContent('#live-prompt')).toBe(
      'Cancelled at the desk: the Alipay QR is closed, nothing was charged.',
    );
    expect(await ui.page.textContent('#order-paid')).toBe('¥0.00');
    await screenshot(ui.page, 'qr-3-closed');
  });
});
