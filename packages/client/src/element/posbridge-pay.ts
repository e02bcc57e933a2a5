/**
 * `<posbridge-pay order="CAR-1" amount="1280000" currency="CNY" lang="zh">`: a pay button that takes a
 * card payment through posbridge and shows the cashier what happens (reader prompts, the bank's answer,
 * errors in words with the code for support), lets them cancel, collects the customer's signature and
 * shows the receipt. The behaviour is PayController's; this file renders its view (lit) and forwards
 * clicks.
 */
import { LitElement, html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { PosbridgeClient } from '../index.js';
import { pickLang, type Lang } from '../wording.js';
import {
  PayController,
  type KeyStore,
  type PayClient,
  type PayEventType,
  type PayView,
} from './controller.js';
import { qrImage, type QrImage } from './qr-image.js';
import { SignaturePad } from './signature-pad.js';
import { receiptDocument, styles } from './styles.js';

/** sessionStorage (this tab) keeps an attempt's idempotency key across a reload; none when unavailable. */
function sessionKeys(): KeyStore | undefined {
  try {
    const s = globalThis.sessionStorage;
    if (!s) return undefined;
    const name = (slot: string): string => `posbridge-pay:${slot}`;
    return {
      get: (slot) => s.getItem(name(slot)) ?? undefined,
      set: (slot, key) => s.setItem(name(slot), key),
      delete: (slot) => s.removeItem(name(slot)),
    };
  } catch {
    return undefined; // storage blocked (privacy settings): keys live in memory only
  }
}

export class PosbridgePay extends LitElement {
  static override styles = styles;

  static override properties = {
    order: { type: String },
    // A string attribute or a number property; the controller checks it is integer fen.
    amount: {},
    currency: { type: String },
    lang: { type: String, reflect: true },
    terminal: { type: String },
    operator: { type: String },
    url: { type: String },
    token: { type: String },
    client: { attribute: false },
    view: { state: true },
  };

  // `declare`: lit's accessors carry the values (class fields would shadow them).
  declare order: string | undefined;
  declare amount: string | number | undefined;
  declare currency: string | undefined;
  declare terminal: string | undefined;
  declare operator: string | undefined;
  /** The daemon's WebSocket (default ws://127.0.0.1:7583/ws); with `token`, the element connects itself. */
  declare url: string | undefined;
  declare token: string | undefined;
  /** A PosbridgeClient of the page (wins over url/token). */
  declare client: PayClient | undefined;
  declare view: PayView;

  private readonly controller: PayController;
  private ownClient: PosbridgeClient | undefined;
  /** The last QR drawn: re-rendering (every second while waiting) does not rebuild the matrix. */
  private qrCache: { content: string; image: QrImage } | undefined;
  private pad: SignaturePad | undefined;
  private padCanvas: HTMLCanvasElement | undefined;
  private ink = false;
  private langObserver: MutationObserver | undefined;

  constructor() {
    super();
    const storage = sessionKeys();
    this.controller = new PayController({
      host: {
        update: (v) => {
          this.view = v;
        },
        emit: (type, detail) => this.emitEvent(type, detail),
      },
      ...(storage ? { storage } : {}),
    });
    this.view = this.controller.view;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    // No lang of its own: follow the page's, also when the page switches language.
    this.langObserver = new MutationObserver(() => this.requestUpdate());
    this.langObserver.observe(document.documentElement, { attributes: true, attributeFilter: ['lang'] });
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.langObserver?.disconnect();
  }

  /** zh or en: the element's lang attribute, else the nearest ancestor's, else the browser's. */
  get effectiveLang(): Lang {
    const own = this.getAttribute('lang');
    const inherited = this.parentElement?.closest('[lang]')?.getAttribute('lang');
    return pickLang(own || inherited || document.documentElement.lang || navigator.language);
  }

  /** Starts the payment (as the pay button). */
  pay(): Promise<void> {
    return this.controller.pay();
  }

  /** Cancels the running payment (as the cancel button). */
  cancel(): Promise<void> {
    return this.controller.cancel();
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('client') || changed.has('url') || changed.has('token') || !this.hasUpdated)
      this.controller.setClient(this.clientSource());
    this.controller.configure({
      order: this.order,
      amount: this.amount,
      currency: this.currency,
      lang: this.effectiveLang,
      terminal: this.terminal,
      operator: this.operator,
    });
  }

  protected override updated(): void {
    const v = this.view;
    // For the page's CSS and tests: where the payment stands.
    this.dataset['phase'] = v.phase;
    if (v.payment) {
      this.dataset['state'] = v.payment.state;
      this.dataset['paymentId'] = v.payment.paymentId;
    } else {
      delete this.dataset['state'];
      delete this.dataset['paymentId'];
    }
    const canvas = this.renderRoot.querySelector('canvas') ?? undefined;
    if (canvas !== this.padCanvas) {
      this.pad?.destroy();
      this.pad = undefined;
      this.padCanvas = canvas;
      this.ink = false;
      if (canvas)
        this.pad = new SignaturePad(canvas, () => {
          if (this.ink !== (this.pad?.ink ?? false)) {
            this.ink = this.pad?.ink ?? false;
            this.requestUpdate();
          }
        });
    }
  }

  private clientSource(): PayClient | (() => Promise<PayClient>) | undefined {
    if (this.client) return this.client;
    const token = this.token;
    if (!token) return undefined;
    const url = this.url;
    return async () => {
      this.ownClient?.close();
      this.ownClient = new PosbridgeClient({
        ...(url ? { url } : {}),
        token,
        clientName: 'posbridge-pay',
      });
      await this.ownClient.connect();
      return this.ownClient;
    };
  }

  private emitEvent(type: PayEventType, detail: unknown): void {
    // `error` stays on the element (a bubbling `error` would reach window.onerror handlers).
    const bubbles = type !== 'error';
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles, composed: bubbles }));
  }

  // -------------------------------------------------------------- rendering

  protected override render(): TemplateResult {
    const v = this.view;
    const L = v.labels;
    return html`<div class="card" part="card" data-phase=${v.phase}>
      <div class="head">
        <span class="order">${v.order ? `${L.order} ${v.order}` : nothing}</span>
        <span class="amount">${v.amountText ?? nothing}</span>
      </div>
      ${
        v.inputError
          ? html`<div
              class="invalid"
              role="alert"
              data-code=${v.inputError.code}
              data-field=${v.inputError.field}
            >
              <strong>${L.invalid}</strong>
              <p>${v.inputError.message}</p>
            </div>`
          : nothing
      }
      ${
        v.status
          ? html`<div class="status" role="status" aria-live="polite" data-tone=${v.status.tone}>
              <span class="title">${v.status.title}</span>
              ${v.status.detail ? html`<p class="detail">${v.status.detail}</p>` : nothing}
              ${v.prompt ? html`<p class="prompt">${v.prompt}</p>` : nothing} ${this.renderQr(v)}
              ${
                v.hostWait
                  ? html`<p class="wait" data-seconds=${v.hostWait.seconds}>${v.hostWait.text}</p>`
                  : nothing
              }
              ${v.note ? html`<p class="note">${v.note}</p>` : nothing}
              <small class="code" title=${L.support}>${v.status.code}</small>
            </div>`
          : nothing
      }
      ${
        v.partialText
          ? html`<div class="partial">
              <p>${v.partialText}</p>
              <div class="buttons">
                <button class="primary accept" @click=${() => void this.controller.decidePartial(true)}>
                  ${L.acceptPartial}
                </button>
                <button class="decline" @click=${() => void this.controller.decidePartial(false)}>
                  ${L.declinePartial}
                </button>
              </div>
            </div>`
          : nothing
      }
      ${this.renderActions(v)} ${this.renderSignature(v)} ${this.renderReceipt(v)}
    </div>`;
  }

  /** Scan-to-pay: the QR the customer scans, drawn here (qr-image.ts), with who pays what and until when. */
  private renderQr(v: PayView): TemplateResult | typeof nothing {
    const q = v.qr;
    if (!q) return nothing;
    if (this.qrCache?.content !== q.content) this.qrCache = { content: q.content, image: qrImage(q.content) };
    const img = this.qrCache.image;
    // The content is on the figure too: it is what the QR shows anyway (a payment URL, no card data).
    return html`<figure class="qr" data-method=${q.method} data-content=${q.content}>
      <svg
        role="img"
        aria-label=${q.alt}
        viewBox="0 0 ${img.extent} ${img.extent}"
        shape-rendering="crispEdges"
        data-modules=${img.size}
      >
        <rect width="100%" height="100%" fill="#fff"></rect>
        <path d=${img.path} fill="#000"></path>
      </svg>
      <figcaption>
        <span class="qr-text">${q.text}</span>
        ${q.until ? html`<span class="qr-until">${q.until}</span>` : nothing}
      </figcaption>
    </figure>`;
  }

  private renderActions(v: PayView): TemplateResult | typeof nothing {
    const showPay = v.phase === 'idle' || v.phase === 'invalid' || v.phase === 'failed';
    const showCancel = v.phase === 'paying' || v.phase === 'following';
    if (!showPay && !showCancel) return nothing;
    return html`<div class="actions">
      ${
        showPay
          ? html`<button
              class="primary pay"
              ?disabled=${!v.canPay}
              @click=${() => void this.controller.pay()}
            >
              ${v.payLabel}
            </button>`
          : nothing
      }
      ${
        showCancel
          ? html`<button
              class="cancel"
              ?disabled=${!v.canCancel}
              @click=${() => void this.controller.cancel()}
            >
              ${v.cancelling ? v.labels.cancelling : v.labels.cancel}
            </button>`
          : nothing
      }
    </div>`;
  }

  private renderSignature(v: PayView): TemplateResult | typeof nothing {
    const s = v.signature;
    if (!s) return nothing;
    const L = v.labels;
    const drawing = s.status === 'needed' || s.status === 'failed' || s.status === 'saving';
    return html`<section class="sign" data-status=${s.status}>
      <h3>${L.signTitle}</h3>
      ${drawing ? html`<canvas width="600" height="200" aria-label=${L.signTitle}></canvas>` : nothing}
      ${s.text ? html`<p class="sign-text" data-status=${s.status}>${s.text}</p>` : nothing}
      ${
        drawing
          ? html`<div class="buttons">
              <button class="sign-clear" ?disabled=${s.status === 'saving'} @click=${() => this.pad?.clear()}>
                ${L.signClear}
              </button>
              <button
                class="primary sign-save"
                ?disabled=${!this.ink || s.status === 'saving'}
                @click=${() => {
                  if (this.pad?.ink) void this.controller.sign(this.pad.toPng());
                }}
              >
                ${L.signSave}
              </button>
            </div>`
          : nothing
      }
    </section>`;
  }

  private renderReceipt(v: PayView): TemplateResult | typeof nothing {
    const r = v.receipt;
    if (!r) return nothing;
    const L = v.labels;
    return html`<section class="receipt" data-copy=${r.copy} data-loading=${String(r.loading)}>
      <h3>${L.receipt}</h3>
      <div class="buttons">
        <button
          class="copy-customer"
          aria-pressed=${String(r.copy === 'customer')}
          @click=${() => void this.controller.showReceipt('customer')}
        >
          ${L.customerCopy}
        </button>
        <button
          class="copy-merchant"
          aria-pressed=${String(r.copy === 'merchant')}
          @click=${() => void this.controller.showReceipt('merchant')}
        >
          ${L.merchantCopy}
        </button>
      </div>
      ${r.loading ? html`<p>${L.receiptLoading}</p>` : nothing}
      ${r.error ? html`<p class="receipt-error">${r.error}</p>` : nothing}
      ${
        r.html !== undefined
          ? html`<iframe sandbox="" title=${L.receipt} .srcdoc=${receiptDocument(r.html)}></iframe>`
          : nothing
      }
    </section>`;
  }
}
