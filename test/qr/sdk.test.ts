/**
 * The simulator speaks the providers' protocols as their SDKs do: requests made by `alipay-sdk` (the official
 * Alipay Node SDK) and by `wechatpay-node-v3` are accepted, and the SDKs verify the simulator's signatures.
 */
import { AlipaySdk } from 'alipay-sdk';
import type { KeyObject } from 'node:crypto';
import WxPay from 'wechatpay-node-v3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QrSimulator } from '../../simulators/qr/index.js';
import { orderNo, startRig, type NotifyReceiver } from './rig.js';

let rig: Awaited<ReturnType<typeof startRig>>;
let sim: QrSimulator;
let receiver: NotifyReceiver;

beforeAll(async () => {
  rig = await startRig();
  sim = rig.sim;
  receiver = rig.receiver;
});
afterAll(() => rig.close());

const pem = (k: KeyObject): string =>
  (k.type === 'private'
    ? k.export({ type: 'pkcs8', format: 'pem' })
    : k.export({ type: 'spki', format: 'pem' })) as string;

describe('alipay-sdk (official) against the simulator', () => {
  const sdk = (): AlipaySdk =>
    new AlipaySdk({
      appId: sim.alipay.appId,
      privateKey: pem(sim.alipay.appPrivateKey),
      keyType: 'PKCS8',
      alipayPublicKey: pem(sim.alipay.alipayPublicKey),
      gateway: sim.alipay.gatewayUrl,
      timeout: 3000,
    });

  it('precreate, scan, query, refund, refund query: requests accepted, answers verified (validateSign)', async () => {
    const s = sdk();
    const no = orderNo('K');
    const pre = await s.exec(
      'alipay.trade.precreate',
      { bizContent: { out_trade_no: no, total_amount: '0.99', subject: 'SDK 测试' } },
      { validateSign: true },
    );
    expect(pre).toMatchObject({ code: '10000', outTradeNo: no });
    expect(String(pre['qrCode'])).toMatch(/^https:\/\/qr\.alipay\.com\//);

    sim.scan({ outTradeNo: no, provider: 'alipay' }, 'pay');
    const q = await s.exec(
      'alipay.trade.query',
      { bizContent: { out_trade_no: no } },
      { validateSign: true },
    );
    expect(q).toMatchObject({ code: '10000', tradeStatus: 'TRADE_SUCCESS', totalAmount: '0.99' });

    const r = await s.exec(
      'alipay.trade.refund',
      { bizContent: { out_trade_no: no, refund_amount: '0.50', out_request_no: 'SDK-R1' } },
      { validateSign: true },
    );
    expect(r).toMatchObject({ code: '10000', fundChange: 'Y', refundFee: '0.50' });
    const rq = await s.exec(
      'alipay.trade.fastpay.refund.query',
      { bizContent: { out_trade_no: no, out_request_no: 'SDK-R1' } },
      { validateSign: true },
    );
    expect(rq).toMatchObject({ code: '10000', refundStatus: 'REFUND_SUCCESS', refundAmount: '0.50' });
    // A business failure is signed too.
    const nf = await s.exec(
      'alipay.trade.query',
      { bizContent: { out_trade_no: 'NOPE' } },
      { validateSign: true },
    );
    expect(nf).toMatchObject({ code: '40004', subCode: 'ACQ.TRADE_NOT_EXIST' });
  });

  it('the SDK verifies the simulator notifications and rejects a badly signed answer', async () => {
    const s = sdk();
    receiver.received.length = 0;
    const no = orderNo('K');
    await s.exec('alipay.trade.pay', {
      notify_url: receiver.url,
      bizContent: {
        out_trade_no: no,
        scene: 'bar_code',
        auth_code: '281234567890123456',
        total_amount: '1.00',
        subject: 'x',
      },
    });
    const [n] = await receiver.waitFor(1);
    const post = Object.fromEntries(new URLSearchParams(n!.body));
    expect(s.checkNotifySignV2(post)).toBe(true);
    expect(s.checkNotifySignV2({ ...post, total_amount: '9.00' })).toBe(false);

    sim.setBehaviour({ badSignature: 1 });
    await expect(
      s.exec('alipay.trade.query', { bizContent: { out_trade_no: no } }, { validateSign: true }),
    ).rejects.toThrow(/验签失败/);
  });

  it('a request signed with another key is refused by the simulator (isv.invalid-signature)', async () => {
    const wrong = new AlipaySdk({
      appId: sim.alipay.appId,
      privateKey: pem(sim.wechat.merchantPrivateKey),
      keyType: 'PKCS8',
      alipayPublicKey: pem(sim.alipay.alipayPublicKey),
      gateway: sim.alipay.gatewayUrl,
    });
    expect(
      await wrong.exec('alipay.trade.query', { bizContent: { out_trade_no: 'X' } }, { validateSign: true }),
    ).toMatchObject({
      code: '40002',
      subCode: 'isv.invalid-signature',
    });
  });
});

describe('wechatpay-node-v3 against the simulator', () => {
  interface Captured {
    status: number;
    headers: Record<string, string>;
    text: string;
  }
  let last: Captured | undefined;

  /** The SDK hard-codes api.mch.weixin.qq.com; its pluggable HTTP service sends the same bytes to the simulator. */
  function client(): WxPay {
    const pay = new WxPay({
      appid: sim.wechat.appid,
      mchid: sim.wechat.mchid,
      serial_no: sim.wechat.merchantSerialNo,
      publicKey: Buffer.from(pem(sim.credentials.wechat.merchantPublicKey)),
      privateKey: Buffer.from(pem(sim.wechat.merchantPrivateKey)),
      key: sim.wechat.apiV3Key.toString('ascii'),
    });
    const call = async (
      method: 'GET' | 'POST',
      url: string,
      headers: Record<string, string>,
      body?: string,
    ) => {
      const target = url.replace('https://api.mch.weixin.qq.com', sim.wechat.baseUrl);
      const res = await fetch(target, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      last = { status: res.status, headers: Object.fromEntries(res.headers), text };
      let data: unknown = text;
      try {
        data = text ? JSON.parse(text) : undefined;
      } catch {
        /* not JSON */
      }
      return { status: res.status, data };
    };
    pay.createHttp({
      post: (url: string, params: Record<string, unknown>, headers: Record<string, string>) =>
        call('POST', url, headers, JSON.stringify(params)),
      get: (url: string, headers: Record<string, string>) => call('GET', url, headers),
      upload: () => Promise.reject(new Error('not used')),
    });
    (WxPay as unknown as { certificates: Record<string, string> }).certificates[sim.wechat.platformSerialNo] =
      pem(sim.wechat.platformPublicKey);
    return pay;
  }

  async function verifyLast(pay: WxPay): Promise<boolean> {
    const h = last!.headers;
    return pay.verifySign({
      timestamp: h['wechatpay-timestamp']!,
      nonce: h['wechatpay-nonce']!,
      body: last!.text,
      serial: h['wechatpay-serial']!,
      signature: h['wechatpay-signature']!,
      apiSecret: sim.wechat.apiV3Key.toString('ascii'),
    });
  }

  it('native, query, close, refunds, refund query: requests accepted, answers verified', async () => {
    const pay = client();
    const no = orderNo('N');
    const native = await pay.transactions_native({
      description: 'SDK 测试',
      out_trade_no: no,
      notify_url: 'https://example.invalid/notify',
      amount: { total: 120 },
    } as Parameters<WxPay['transactions_native']>[0]);
    expect(native.status).toBe(200);
    expect(String((native.data as { code_url: string }).code_url)).toMatch(/^weixin:\/\//);
    expect(await verifyLast(pay)).toBe(true);

    const q1 = await pay.query({ out_trade_no: no });
    expect(q1).toMatchObject({ status: 200, data: { trade_state: 'NOTPAY' } });
    expect(await verifyLast(pay)).toBe(true);

    sim.scan({ outTradeNo: no, provider: 'wechat' }, 'pay');
    const q2 = await pay.query({ out_trade_no: no });
    expect(q2).toMatchObject({ status: 200, data: { trade_state: 'SUCCESS', amount: { total: 120 } } });

    const refund = await pay.refunds({
      out_trade_no: no,
      out_refund_no: `${no}-R`,
      amount: { refund: 20, total: 120, currency: 'CNY' },
    } as Parameters<WxPay['refunds']>[0]);
    expect(refund).toMatchObject({ status: 200, data: { status: 'SUCCESS', amount: { refund: 20 } } });
    expect(await verifyLast(pay)).toBe(true);
    const found = await pay.find_refunds(`${no}-R`);
    expect(found).toMatchObject({ status: 200, data: { out_refund_no: `${no}-R`, status: 'SUCCESS' } });
    expect(await verifyLast(pay)).toBe(true);

    const other = orderNo('N');
    await pay.transactions_native({
      description: 'x',
      out_trade_no: other,
      notify_url: 'https://example.invalid/notify',
      amount: { total: 1 },
    } as Parameters<WxPay['transactions_native']>[0]);
    const closed = await pay.close(other);
    expect(closed.status).toBe(204);
    expect(await verifyLast(pay)).toBe(true);

    const missing = await pay.query({ out_trade_no: 'NOSUCHORDER' });
    expect(missing.status).toBe(404);
    expect(JSON.parse(last!.text)).toMatchObject({ code: 'ORDER_NOT_EXIST' });
    expect(await verifyLast(pay)).toBe(true);
  });

  it('the SDK decrypts the simulator notifications and notices a bad signature', async () => {
    const pay = client();
    receiver.received.length = 0;
    const no = orderNo('N');
    await pay.transactions_native({
      description: 'x',
      out_trade_no: no,
      notify_url: 'https://example.invalid/notify',
      amount: { total: 7 },
    } as Parameters<WxPay['transactions_native']>[0]);
    sim.scan({ outTradeNo: no, provider: 'wechat' }, 'pay');
    const [n] = await receiver.waitFor(1);
    const body = JSON.parse(n!.body) as {
      resource: { ciphertext: string; associated_data: string; nonce: string };
    };
    const plain = pay.decipher_gcm<{ out_trade_no: string; trade_state: string }>(
      body.resource.ciphertext,
      body.resource.associated_data,
      body.resource.nonce,
    );
    expect(plain).toMatchObject({ out_trade_no: no, trade_state: 'SUCCESS' });
    expect(
      await pay.verifySign({
        timestamp: n!.headers['wechatpay-timestamp']!,
        nonce: n!.headers['wechatpay-nonce']!,
        body: n!.body,
        serial: n!.headers['wechatpay-serial']!,
        signature: n!.headers['wechatpay-signature']!,
      }),
    ).toBe(true);

    sim.setBehaviour({ badSignature: 1 });
    await pay.query({ out_trade_no: no });
    expect(await verifyLast(pay)).toBe(false);
  });
});
