/**
 * Suggested actions of scan-to-pay reconciliation items (docs/reconciliation.md, "Scan-to-pay bills"):
 * the card actions speak of acquirers and presenting the card; a QR payment is refunded by its paymentId
 * (or the provider's merchant portal) and its state is asked from the provider.
 */
import { ACTIONS } from './reconcile.js';
import type { ReconAction } from './types.js';

export const QR_ACTIONS: Record<string, string> = {
  qr_investigate_unknown_trade:
    "The provider's bill has a payment this journal does not know: find where it was taken (another desk or till on the same merchant account, a restored journal) and record it, or refund it from the provider's merchant portal.",
  qr_investigate_unknown_refund:
    "The provider's bill has a refund this journal does not know: find who refunded it (merchant portal, another desk) and record it; do not refund it again.",
  qr_confirm_or_recover:
    'The provider charged it but the journal never finished this payment: run `posbridge recover` (it asks the provider and completes it), then confirm the order with the customer.',
  qr_recover_refund:
    'The provider made this refund but the journal never finished it: run `posbridge recover` (it asks the provider and completes it); do not refund again.',
  qr_refund_or_accept_told_failed:
    'The journal closed this payment as not paid (closed, cancelled, declined or failed) but the provider charged it: refund it from the merchant portal, or, with the customer, accept it as the payment.',
  qr_record_refund_made:
    'The journal recorded this refund as failed but the provider made it: record it with the customer and do not refund again.',
  qr_reversal_not_applied:
    "Reversed (cancelled) here but charged in the provider's bill: query the trade; if it is still paid, refund it.",
  qr_missing_at_provider:
    "Completed here but not in the provider's bill: query the trade (merchant portal); if the provider has no payment, the money will not arrive: take the payment again.",
  qr_refund_missing_at_provider:
    "Refunded here but not in the provider's bill: query the refund (merchant portal); if the provider has none, repeat it with the same refund request number (never a new one).",
  qr_query_not_charged:
    "The journal does not know how this ended and the provider's bill has nothing for it: run `posbridge recover` (it asks the provider and closes it as not charged).",
  qr_raise_amount_difference:
    "The amounts differ: compare the journal with the provider's record and raise it with the provider, or refund (or charge) the difference.",
  qr_late_arrival:
    "Completed around midnight: the provider booked it on the other day's bill, which has it; nothing to do (the day totals differ by it).",
  qr_await_next_bill:
    "Completed around midnight and not in this day's bill: reconcile the next day once its bill is out (reconcile this day again then to settle it); if it is not there either, ask the provider.",
  qr_check_dates:
    "The provider booked it more days away than the tolerance allows: check this desk's clock and the provider's record.",
};

/** The text of an action code, card or scan-to-pay. */
export function actionText(code: string): string {
  return ACTIONS[code] ?? QR_ACTIONS[code] ?? code;
}

export const qrAction = (code: string): ReconAction => ({ code, text: actionText(code) });
