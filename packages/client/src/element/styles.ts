/**
 * The element's look (inside its shadow root, so the CRM's CSS neither breaks it nor is broken by it).
 * Fits a 390 px phone: everything wraps, nothing has a fixed width. Colours can be overridden with the
 * custom properties below.
 */
import { css } from 'lit';

export const styles = css`
  :host {
    --pb-accent: #1554c0;
    --pb-progress: #1554c0;
    --pb-success: #187a3a;
    --pb-warning: #9a5b00;
    --pb-error: #b3261e;
    --pb-neutral: #555;
    --pb-radius: 10px;
    display: block;
    box-sizing: border-box;
    max-width: 100%;
    font:
      15px/1.45 system-ui,
      -apple-system,
      'Segoe UI',
      'PingFang SC',
      'Microsoft YaHei',
      sans-serif;
    color: #1b1b1b;
  }
  :host([hidden]) {
    display: none;
  }
  *,
  *::before,
  *::after {
    box-sizing: border-box;
  }
  .card {
    border: 1px solid #d6d9de;
    border-radius: var(--pb-radius);
    padding: 14px;
    background: #fff;
    display: grid;
    gap: 10px;
    min-width: 0;
  }
  .head {
    display: flex;
    flex-wrap: wrap;
    justify-content: space-between;
    align-items: baseline;
    gap: 4px 12px;
  }
  .order {
    color: var(--pb-neutral);
    overflow-wrap: anywhere;
  }
  .amount {
    font-size: 1.5em;
    font-weight: 650;
    font-variant-numeric: tabular-nums;
    overflow-wrap: anywhere;
  }
  .status {
    border-left: 4px solid var(--tone, var(--pb-neutral));
    padding: 6px 10px;
    background: #f6f7f9;
    border-radius: 4px;
  }
  .status[data-tone='progress'] {
    --tone: var(--pb-progress);
  }
  .status[data-tone='success'] {
    --tone: var(--pb-success);
  }
  .status[data-tone='warning'] {
    --tone: var(--pb-warning);
  }
  .status[data-tone='error'] {
    --tone: var(--pb-error);
  }
  .title {
    display: block;
    font-weight: 650;
    color: var(--tone, inherit);
  }
  .detail,
  .prompt,
  .wait,
  .note,
  .partial p {
    margin: 2px 0 0;
  }
  .code {
    display: block;
    margin-top: 4px;
    font-size: 0.8em;
    color: var(--pb-neutral);
    font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
    overflow-wrap: anywhere;
  }
  .prompt {
    font-size: 1.15em;
    font-weight: 600;
  }
  .wait {
    color: var(--pb-warning);
  }
  .qr {
    margin: 10px 0 4px;
    display: flex;
    flex-direction: column;
    align-items: center;
    gap: 6px;
  }
  .qr svg {
    /* Large enough to scan from a phone at arm's length, never wider than the element. */
    width: min(240px, 100%);
    height: auto;
    aspect-ratio: 1;
    background: #fff;
  }
  .qr figcaption {
    text-align: center;
    display: flex;
    flex-direction: column;
    gap: 2px;
  }
  .qr-text {
    font-weight: 600;
  }
  .qr-until {
    font-size: 0.85em;
    color: var(--pb-neutral);
  }
  .invalid {
    border: 1px solid var(--pb-error);
    color: var(--pb-error);
    border-radius: 6px;
    padding: 8px 10px;
    overflow-wrap: anywhere;
  }
  .invalid p {
    margin: 4px 0 0;
    font-size: 0.9em;
  }
  .actions,
  .buttons {
    display: flex;
    flex-wrap: wrap;
    gap: 8px;
  }
  button {
    font: inherit;
    min-height: 44px;
    padding: 8px 16px;
    border-radius: 8px;
    border: 1px solid var(--pb-accent);
    background: #fff;
    color: var(--pb-accent);
    cursor: pointer;
    max-width: 100%;
    overflow-wrap: anywhere;
  }
  button.primary {
    background: var(--pb-accent);
    color: #fff;
    font-weight: 650;
    flex: 1 1 auto;
  }
  button[disabled] {
    opacity: 0.5;
    cursor: not-allowed;
  }
  button[aria-pressed='true'] {
    background: #e8eefb;
  }
  h3 {
    margin: 4px 0;
    font-size: 1em;
  }
  canvas {
    display: block;
    width: 100%;
    height: auto;
    aspect-ratio: 3 / 1;
    border: 1px dashed #9aa0a6;
    border-radius: 6px;
    touch-action: none;
    background: #fff;
  }
  .sign-text[data-status='failed'] {
    color: var(--pb-error);
  }
  .sign-text[data-status='saved'],
  .sign-text[data-status='existing'] {
    color: var(--pb-success);
  }
  iframe {
    display: block;
    width: 100%;
    height: 520px;
    border: 1px solid #d6d9de;
    border-radius: 6px;
    background: #fff;
  }
`;

/**
 * The daemon's receipt fragment (escaped HTML, no styles) as a small styled document for the sandboxed
 * frame: a till slip, the signature visible on the merchant copy.
 */
export function receiptDocument(fragment: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><style>
body{margin:0;padding:12px;font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,'PingFang SC',monospace;color:#111;background:#fff}
.posbridge-receipt{max-width:340px;margin:0 auto}
h1{font-size:15px;text-align:center;margin:0 0 2px}
.copy,.reprint{text-align:center;margin:0 0 8px;color:#444}
dl{display:grid;grid-template-columns:auto 1fr;gap:2px 10px;margin:0;padding:8px 0;border-top:1px dashed #999}
dt{color:#555}dd{margin:0;text-align:right;overflow-wrap:anywhere}
.signature{border-top:1px dashed #999;padding-top:8px}
.signature img{display:block;max-width:100%;height:auto;border-bottom:1px solid #333}
.signature-line{border-bottom:1px solid #333;height:48px;margin:0}
.acknowledge{font-size:11px;color:#444}
pre{white-space:pre-wrap;margin:0}
</style></head><body>${fragment}</body></html>`;
}
