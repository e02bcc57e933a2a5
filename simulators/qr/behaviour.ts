/**
 * What the simulated Alipay and WeChat Pay gateways do wrong, set through the control API (POST /behaviour,
 * validated: an unknown key is a 400 naming it) or the in-process handle.
 *
 * Counted faults (`systemError`, `loseAnswer`, `badSignature`) take a number (the next N gateway calls of
 * any API) or `{ "count": N, "only": ["alipay.trade.refund", "wechat.notify", ...] }` (the next N calls of
 * those APIs; notifications are hit only when named: "alipay.notify", "wechat.notify"). Each hit counts down.
 */
export const QR_SIM_APIS = [
  'alipay.trade.precreate',
  'alipay.trade.pay',
  'alipay.trade.query',
  'alipay.trade.cancel',
  'alipay.trade.close',
  'alipay.trade.refund',
  'alipay.trade.fastpay.refund.query',
  'alipay.data.dataservice.bill.downloadurl.query',
  'alipay.notify',
  'wechat.native',
  'wechat.query',
  'wechat.close',
  'wechat.refund',
  'wechat.refund.query',
  'wechat.tradebill',
  'wechat.micropay',
  'wechat.orderquery',
  'wechat.reverse',
  'wechat.notify',
] as const;
export type QrSimApi = (typeof QR_SIM_APIS)[number];

export interface CountedFault {
  count: number;
  /** APIs hit; empty: every gateway call (not notifications) */
  only: QrSimApi[];
}

export interface QrBehaviour {
  /** Answer a provider system error (Alipay ACQ.SYSTEM_ERROR / 20000, WeChat SYSTEM_ERROR / SYSTEMERROR); nothing is done. */
  systemError: CountedFault;
  /** Carry the request out, then drop the connection without an answer. */
  loseAnswer: CountedFault;
  /** Sign the answer (or notification) wrongly. */
  badSignature: CountedFault;
  /** Deliver every notification twice. */
  duplicateNotification: boolean;
  /**
   * Partial refunds (less than the payment) are accepted but fail: WeChat PROCESSING then ABNORMAL (and a
   * REFUND.ABNORMAL notification); Alipay fund_change=N and the refund query finds no refund.
   */
  refundPartiallyFails: boolean;
  /**
   * Payment-code payments answer USERPAYING (Alipay 10003, WeChat USERPAYING) and the customer confirms after
   * this many ms (then paid, notified); 0: paid at once. Also the delay of the scan action
   * "userpaying_then_pay".
   */
  userPayingMs: number;
}

export const DEFAULT_QR_BEHAVIOUR: QrBehaviour = {
  systemError: { count: 0, only: [] },
  loseAnswer: { count: 0, only: [] },
  badSignature: { count: 0, only: [] },
  duplicateNotification: false,
  refundPartiallyFails: false,
  userPayingMs: 0,
};

export class QrBehaviourError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'QrBehaviourError';
  }
}

const COUNTED = ['systemError', 'loseAnswer', 'badSignature'] as const;
const BOOLEANS = ['duplicateNotification', 'refundPartiallyFails'] as const;

function parseCounted(v: unknown, path: string): CountedFault {
  if (Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 1000)
    return { count: v as number, only: [] };
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new QrBehaviourError(path, 'must be a count 0..1000 or { "count": n, "only": [api, ...] }');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (k !== 'count' && k !== 'only') throw new QrBehaviourError(`${path}.${k}`, 'unknown field');
  if (!Number.isInteger(o['count']) || (o['count'] as number) < 0 || (o['count'] as number) > 1000)
    throw new QrBehaviourError(`${path}.count`, 'must be an integer 0..1000');
  const only = o['only'] ?? [];
  if (!Array.isArray(only)) throw new QrBehaviourError(`${path}.only`, 'must be a list of API names');
  only.forEach((a, i) => {
    if (!(QR_SIM_APIS as readonly unknown[]).includes(a))
      throw new QrBehaviourError(`${path}.only[${i}]`, `unknown API (one of ${QR_SIM_APIS.join(', ')})`);
  });
  return { count: o['count'] as number, only: only as QrSimApi[] };
}

/** Validates a partial behaviour; unknown keys and wrong types are QrBehaviourErrors naming the key. */
export function parseQrBehaviour(raw: unknown): Partial<QrBehaviour> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new QrBehaviourError('$', 'must be an object');
  const out: Partial<QrBehaviour> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    const path = `$.${k}`;
    if ((COUNTED as readonly string[]).includes(k))
      out[k as (typeof COUNTED)[number]] = parseCounted(v, path);
    else if ((BOOLEANS as readonly string[]).includes(k)) {
      if (typeof v !== 'boolean') throw new QrBehaviourError(path, 'must be true or false');
      out[k as (typeof BOOLEANS)[number]] = v;
    } else if (k === 'userPayingMs') {
      if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 600_000)
        throw new QrBehaviourError(path, 'must be an integer 0..600000');
      out.userPayingMs = v as number;
    } else throw new QrBehaviourError(path, 'unknown behaviour');
  }
  return out;
}

export function cloneBehaviour(b: QrBehaviour): QrBehaviour {
  return {
    ...b,
    systemError: { ...b.systemError, only: [...b.systemError.only] },
    loseAnswer: { ...b.loseAnswer, only: [...b.loseAnswer.only] },
    badSignature: { ...b.badSignature, only: [...b.badSignature.only] },
  };
}

/** Takes one hit of a counted fault for `api` when it applies. */
export function takeFault(f: CountedFault, api: QrSimApi): boolean {
  if (f.count <= 0) return false;
  const applies = f.only.length === 0 ? !api.endsWith('.notify') : f.only.includes(api);
  if (!applies) return false;
  f.count--;
  return true;
}
