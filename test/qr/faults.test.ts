/**
 * Every gateway API under every counted fault: a system error, a lost answer and a bad signature are all
 * `unknown` (never a failure, never believed), with the matching reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlipayProvider, QrResult, WechatProvider } from '../../src/qr/index.js';
import type { QrSimApi, QrSimulator } from '../../simulators/qr/index.js';
import { cstDate } from '../../src/qr/index.js';
import {
  ALIPAY_CODE,
  WECHAT_CODE,
  alipayFor,
  inAMinute,
  orderNo,
  startRig,
  value,
  wechatFor,
} from './rig.js';

let rig: Awaited<ReturnType<typeof startRig>>;
let sim: QrSimulator;
let alipay: AlipayProvider;
let wechat: WechatProvider;

beforeAll(async () => {
  rig = await startRig();
  sim = rig.sim;
  alipay = alipayFor(sim);
  wechat = wechatFor(sim);
});
afterAll(() => rig.close());

/** A paid trade of each provider to query, refund, etc. */
async function paid(p: 'alipay' | 'wechat'): Promise<string> {
  const no = orderNo('P');
  if (p === 'alipay')
    value(await alipay.payByCode({ outTradeNo: no, amount: 100, subject: 'x', authCode: ALIPAY_CODE }));
  else value(await wechat.payByCode({ outTradeNo: no, amount: 100, subject: 'x', authCode: WECHAT_CODE }));
  return no;
}

const calls: [QrSimApi, () => Promise<QrResult<unknown>>][] = [
  [
    'alipay.trade.precreate',
    () => alipay.precreate({ outTradeNo: orderNo('A'), amount: 1, subject: 'x', expiresAt: inAMinute() }),
  ],
  [
    'alipay.trade.pay',
    () => alipay.payByCode({ outTradeNo: orderNo('A'), amount: 1, subject: 'x', authCode: ALIPAY_CODE }),
  ],
  ['alipay.trade.query', async () => alipay.query(await paid('alipay'))],
  ['alipay.trade.cancel', async () => alipay.cancel(await paid('alipay'))],
  [
    'alipay.trade.close',
    async () => {
      const no = orderNo('A');
      value(await alipay.precreate({ outTradeNo: no, amount: 1, subject: 'x', expiresAt: inAMinute() }));
      sim.scan({ outTradeNo: no, provider: 'alipay' }, 'cancel');
      return alipay.close(no);
    },
  ],
  [
    'alipay.trade.refund',
    async () =>
      alipay.refund({ outTradeNo: await paid('alipay'), outRequestNo: 'R1', amount: 10, totalAmount: 100 }),
  ],
  ['alipay.trade.fastpay.refund.query', async () => alipay.refundQuery(await paid('alipay'), 'R1')],
  ['alipay.data.dataservice.bill.downloadurl.query', () => alipay.bill(cstDate(new Date()))],
  [
    'wechat.native',
    () => wechat.precreate({ outTradeNo: orderNo('W'), amount: 1, subject: 'x', expiresAt: inAMinute() }),
  ],
  ['wechat.query', async () => wechat.query(await paid('wechat'))],
  [
    'wechat.close',
    async () => {
      const no = orderNo('W');
      value(await wechat.precreate({ outTradeNo: no, amount: 1, subject: 'x', expiresAt: inAMinute() }));
      return wechat.close(no);
    },
  ],
  [
    'wechat.refund',
    async () => {
      const no = await paid('wechat');
      return wechat.refund({ outTradeNo: no, outRequestNo: `${no}R`, amount: 10, totalAmount: 100 });
    },
  ],
  [
    'wechat.refund.query',
    async () => {
      const no = await paid('wechat');
      value(await wechat.refund({ outTradeNo: no, outRequestNo: `${no}R`, amount: 10, totalAmount: 100 }));
      return wechat.refundQuery(no, `${no}R`);
    },
  ],
  ['wechat.tradebill', () => wechat.bill(cstDate(new Date()))],
  [
    'wechat.micropay',
    () => wechat.payByCode({ outTradeNo: orderNo('W'), amount: 1, subject: 'x', authCode: WECHAT_CODE }),
  ],
  ['wechat.orderquery', async () => wechat.orderQueryV2(await paid('wechat'))],
  ['wechat.reverse', async () => wechat.cancel(await paid('wechat'))],
];

describe.each([
  ['systemError', 'system_error'],
  ['loseAnswer', 'connection_lost'],
  ['badSignature', 'bad_signature'],
] as const)('%s', (fault, reason) => {
  it.each(calls.map(([api, call]) => ({ api, call })))('$api → unknown', async ({ api, call }) => {
    // Make sure each bill has business today, so the bill APIs get as far as the fault.
    if (api.includes('bill')) await paid(api.startsWith('alipay') ? 'alipay' : 'wechat');
    sim.setBehaviour({ [fault]: { count: 1, only: [api] } });
    const r = await call();
    expect(r).toMatchObject({ status: 'unknown', reason });
    expect(sim.behaviour[fault].count).toBe(0);
  });
});
