/**
 * `@posbridge/client/element`: the `<posbridge-pay>` web component. Importing this module (or loading
 * dist/browser/posbridge-pay.js, which has lit and the client inlined) defines the element once.
 *
 *   <script type="module" src="posbridge-pay.js"></script>
 *   <posbridge-pay order="CAR-1" amount="1280000" currency="CNY" lang="zh"></posbridge-pay>
 *   el.client = pb;   // a connected PosbridgeClient (or set the url and token attributes)
 *   el.addEventListener('posbridge-completed', (e) => save(e.detail.payment));
 *
 * The public type is the PosbridgePayElement interface (no lit types in it, so a CRM's TypeScript needs
 * no lit); the implementation class is internal.
 */
import type { CollectedPayment } from '../flows.js';
import type { Payment } from '../types.js';
import type { PayClient, PaymentSnapshot } from './controller.js';
import type { InputError } from './money.js';
import { PosbridgePay } from './posbridge-pay.js';

export type { PayClient, PaymentSnapshot, PayView, Phase } from './controller.js';
export type { InputError } from './money.js';
export { formatMoney, parseAmount } from './money.js';

export const TAG_NAME = 'posbridge-pay';

/** `<posbridge-pay>` as a page sees it. */
export interface PosbridgePayElement extends HTMLElement {
  /** The CRM's order reference (attribute `order`). */
  order: string | undefined;
  /** Integer minor units, fen (attribute `amount`, digits only): anything else shows an error. */
  amount: string | number | undefined;
  /** ISO 4217 code (attribute `currency`); default the terminal's. */
  currency: string | undefined;
  /** Which terminal (attribute `terminal`); default the daemon's. */
  terminal: string | undefined;
  /** The operator recorded with the payment (attribute `operator`); default the session's. */
  operator: string | undefined;
  /** The daemon's WebSocket URL (attribute `url`, default ws://127.0.0.1:7583/ws). */
  url: string | undefined;
  /** The page's token (attribute `token`): with it the element connects by itself. */
  token: string | undefined;
  /** A PosbridgeClient of the page; wins over url/token. */
  client: PayClient | undefined;
  /** `zh` or `en` as used: the lang attribute, else the page's. */
  readonly effectiveLang: 'zh' | 'en';
  /** Press the pay button. */
  pay(): Promise<void>;
  /** Press the cancel button. */
  cancel(): Promise<void>;
}

/** The `detail` of the element's events. */
export interface PosbridgePayEvents {
  /** Every state change of the payment. */
  'posbridge-state': CustomEvent<{ payment: PaymentSnapshot }>;
  /** Paid (the signature and receipt follow on the element). */
  'posbridge-completed': CustomEvent<{ payment: CollectedPayment | Payment }>;
  /** No money taken (`payment` with its state and reason), or an error (`error` with its code). */
  'posbridge-failed': CustomEvent<{
    payment?: CollectedPayment | Payment | PaymentSnapshot;
    paymentId?: string;
    error?: { code: string; message: string };
  }>;
  /** An attribute is wrong (not bubbling). */
  error: CustomEvent<InputError>;
}

declare global {
  interface HTMLElementTagNameMap {
    'posbridge-pay': PosbridgePayElement;
  }
}

if (!customElements.get(TAG_NAME)) customElements.define(TAG_NAME, PosbridgePay);

/** The element's constructor (as registered). */
export const PosbridgePayElement = customElements.get(TAG_NAME) as unknown as {
  new (): PosbridgePayElement;
  prototype: PosbridgePayElement;
};
