/**
 * The element's own words (buttons, headings, notes) in Chinese and English. Payment states, reasons,
 * reader prompts and error codes come from ../wording.ts; these are only what the element adds around
 * them. Data, so a translation is one table.
 */
import type { CancelOutcome } from '../flows.js';
import type { Lang } from '../wording.js';

export interface Labels {
  pay: (amount: string) => string;
  payAgain: (amount: string) => string;
  resume: string;
  cancel: string;
  cancelling: string;
  cancelled: Record<CancelOutcome, string>;
  /** The host has not answered yet: what is happening and for how long. */
  hostWait: (seconds: number) => string;
  connecting: string;
  reconnecting: string;
  partial: (approved: string, amount: string) => string;
  acceptPartial: string;
  declinePartial: string;
  signTitle: string;
  signHint: string;
  signClear: string;
  signSave: string;
  signSaving: string;
  signSaved: string;
  signExisting: string;
  signFailed: string;
  receipt: string;
  customerCopy: string;
  merchantCopy: string;
  receiptLoading: string;
  receiptFailed: string;
  invalid: string;
  order: string;
  support: string;
  notCharged: string;
  /** Scan-to-pay providers' names. */
  providers: { alipay: string; wechat: string };
  /** Under the QR: who scans it and what they pay. */
  qrScan: (provider: string, amount: string) => string;
  /** When the QR stops being payable (local time, HH:MM). */
  qrUntil: (time: string) => string;
  qrAlt: (provider: string, amount: string) => string;
}

export const LABELS: Record<Lang, Labels> = {
  en: {
    pay: (a) => `Pay ${a}`,
    payAgain: (a) => `Try again: pay ${a}`,
    resume: 'Continue the same payment',
    cancel: 'Cancel payment',
    cancelling: 'Cancelling…',
    cancelled: {
      cancelled: 'Cancelled: no money was taken.',
      queued:
        'Cancel recorded: the bank may already have the request, so it is undone when its answer arrives. The customer is not charged.',
      already_completed: 'Too late to cancel: the payment went through. Void or refund it instead.',
      already_final: 'Nothing to cancel: the payment had already ended without taking money.',
      not_cancellable: 'Cannot be cancelled: this payment needs a supervisor (reconciliation settles it).',
    },
    hostWait: (s) =>
      `Waiting for the bank's answer: ${s} s. Keep the card in the reader; do not take the payment again.`,
    connecting: 'Connecting to the card terminal…',
    reconnecting: 'Connection to posbridge lost: reconnecting. The payment continues.',
    partial: (approved, amount) => `The card covers only ${approved} of ${amount}.`,
    acceptPartial: 'Accept the part payment',
    declinePartial: 'Decline (give it back)',
    signTitle: 'Customer signature',
    signHint: 'Ask the customer to sign in the box.',
    signClear: 'Clear',
    signSave: 'Save signature',
    signSaving: 'Saving the signature…',
    signSaved: 'Signature saved with the payment.',
    signExisting: 'This payment was already signed: the signature on file stays.',
    signFailed: 'The signature was not saved',
    receipt: 'Receipt',
    customerCopy: 'Customer copy',
    merchantCopy: 'Merchant copy',
    receiptLoading: 'Loading the receipt…',
    receiptFailed: 'The receipt could not be loaded',
    invalid: 'This payment button is set up wrongly',
    order: 'Order',
    support: 'Code for support',
    notCharged: 'The customer was not charged.',
    providers: { alipay: 'Alipay', wechat: 'WeChat Pay' },
    qrScan: (p, a) => `Ask the customer to scan this code with ${p} and pay ${a}.`,
    qrUntil: (t) => `Payable until ${t}.`,
    qrAlt: (p, a) => `${p} QR code for ${a}`,
  },
  zh: {
    pay: (a) => `支付 ${a}`,
    payAgain: (a) => `重新支付 ${a}`,
    resume: '继续同一笔支付',
    cancel: '取消支付',
    cancelling: '正在取消…',
    cancelled: {
      cancelled: '已取消：未扣款。',
      queued: '已记录取消：银行可能已收到请求，收到银行应答后会自动撤销。客户不会被扣款。',
      already_completed: '无法取消：这笔支付已成功。请改为撤销或退款。',
      already_final: '无需取消：这笔支付已结束，未扣款。',
      not_cancellable: '无法取消：这笔支付需要主管处理（对账时解决）。',
    },
    hostWait: (s) => `正在等待银行应答：已 ${s} 秒。请勿移开卡片，也不要重复收款。`,
    connecting: '正在连接刷卡终端…',
    reconnecting: '与 posbridge 的连接中断，正在重连。支付会继续进行。',
    partial: (approved, amount) => `此卡仅能支付 ${amount} 中的 ${approved}。`,
    acceptPartial: '接受部分支付',
    declinePartial: '拒绝（退回）',
    signTitle: '客户签名',
    signHint: '请客户在框内签名。',
    signClear: '清除',
    signSave: '保存签名',
    signSaving: '正在保存签名…',
    signSaved: '签名已随交易保存。',
    signExisting: '这笔支付已签过名，保留原签名。',
    signFailed: '签名未保存',
    receipt: '小票',
    customerCopy: '客户联',
    merchantCopy: '商户联',
    receiptLoading: '正在加载小票…',
    receiptFailed: '无法加载小票',
    invalid: '支付按钮配置有误',
    order: '订单',
    support: '支持代码',
    notCharged: '客户未被扣款。',
    providers: { alipay: '支付宝', wechat: '微信支付' },
    qrScan: (p, a) => `请客户用${p}扫描此码，支付 ${a}。`,
    qrUntil: (t) => `${t} 前有效。`,
    qrAlt: (p, a) => `${p}收款码，${a}`,
  },
};
