/**
 * Signature rules of both providers, and that tampered answers and notifications are never trusted.
 */
import { generateKeyPair, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  alipaySignContent,
  buildWechatXml,
  encryptWechatResource,
  parseWechatAuthorization,
  parseWechatXml,
  rawMembers,
  rsa2Sign,
  sha256WithRsa,
  verifyAlipayNotificationParams,
  verifyAlipayResponse,
  verifyWechatV3Signed,
  wechatV2Sign,
  wechatV2Verify,
  wechatV3Authorization,
  wechatV3ResponseMessage,
  type AlipayProvider,
  type WechatProvider,
} from '../../src/qr/index.js';
import type { QrSimulator } from '../../simulators/qr/index.js';
import { alipayFor, orderNo, startRig, value, wechatFor, type NotifyReceiver, ALIPAY_CODE } from './rig.js';

const pair = (): Promise<{ privateKey: KeyObject; publicKey: KeyObject }> =>
  new Promise((resolve, reject) =>
    generateKeyPair('rsa', { modulusLength: 2048 }, (e, publicKey, privateKey) =>
      e ? reject(e) : resolve({ privateKey, publicKey }),
    ),
  );
const [{ privateKey, publicKey }, other] = await Promise.all([pair(), pair()]);

describe('raw JSON members', () => {
  it('gives the exact text of each top-level member', () => {
    const text = ' { "a_response" : {"s":"x}\\"{","n":[1,{"b":2}],"u":"https:\\/\\/q"} , "sign":"abc" } ';
    const m = rawMembers(text);
    expect(m.get('a_response')).toBe('{"s":"x}\\"{","n":[1,{"b":2}],"u":"https:\\/\\/q"}');
    expect(m.get('sign')).toBe('"abc"');
    for (const bad of ['', '[]', '{"a":}', '{"a":1', '{"a":1} x', '{a:1}'])
      expect(() => rawMembers(bad)).toThrow();
  });
});

describe('Alipay signatures', () => {
  it('signs requests over the sorted non-empty parameters without sign', () => {
    expect(
      alipaySignContent({ method: 'm', app_id: '1', sign: 's', empty: '', biz_content: '{"a":1}' }),
    ).toBe('app_id=1&biz_content={"a":1}&method=m');
  });

  const inner = '{"code":"10000","msg":"Success","qr_code":"https:\\/\\/qr.alipay.com\\/bax0"}';
  const answer = (i: string, sig = rsa2Sign(inner, privateKey)): string =>
    `{"alipay_trade_precreate_response":${i},"sign":"${sig}"}`;

  it('verifies the exact member text (escapes kept), and nothing else', () => {
    const ok = verifyAlipayResponse(answer(inner), 'alipay.trade.precreate', publicKey);
    expect(ok).toMatchObject({ ok: true, data: { qr_code: 'https://qr.alipay.com/bax0' } });
    // The same value re-serialised (slashes unescaped) is not what was signed.
    const reser = JSON.stringify(JSON.parse(inner));
    expect(verifyAlipayResponse(answer(reser), 'alipay.trade.precreate', publicKey)).toMatchObject({
      ok: false,
      reason: 'bad_signature',
    });
    const tampered = inner.replace('10000', '10001');
    expect(verifyAlipayResponse(answer(tampered), 'alipay.trade.precreate', publicKey)).toMatchObject({
      ok: false,
      reason: 'bad_signature',
    });
    expect(
      verifyAlipayResponse(
        answer(inner, rsa2Sign(inner, other.privateKey)),
        'alipay.trade.precreate',
        publicKey,
      ),
    ).toMatchObject({ ok: false, reason: 'bad_signature' });
    expect(
      verifyAlipayResponse(
        `{"alipay_trade_precreate_response":${inner}}`,
        'alipay.trade.precreate',
        publicKey,
      ),
    ).toMatchObject({
      ok: false,
      reason: 'bad_signature',
    });
    expect(verifyAlipayResponse(answer(inner), 'alipay.trade.query', publicKey)).toMatchObject({
      ok: false,
      reason: 'malformed',
    });
    expect(verifyAlipayResponse('<html>', 'alipay.trade.query', publicKey)).toMatchObject({
      ok: false,
      reason: 'malformed',
    });
  });

  it('notifications: every parameter but sign and sign_type, decoded values', () => {
    const p: Record<string, string> = {
      notify_time: '2024-05-13 17:49:20',
      out_trade_no: 'A1',
      subject: '咖啡 & 茶=好',
      total_amount: '0.01',
      sign_type: 'RSA2',
    };
    p['sign'] = rsa2Sign(alipaySignContent(p, ['sign', 'sign_type']), privateKey);
    expect(verifyAlipayNotificationParams(p, publicKey)).toBe(true);
    expect(verifyAlipayNotificationParams({ ...p, total_amount: '100.00' }, publicKey)).toBe(false);
    expect(verifyAlipayNotificationParams({ ...p, sign: '' }, publicKey)).toBe(false);
    expect(verifyAlipayNotificationParams({ ...p, extra: 'x' }, publicKey)).toBe(false);
  });
});

describe('WeChat Pay signatures', () => {
  it('v2: the documented example vectors (MD5 and HMAC-SHA256)', () => {
    const p = {
      appid: 'wxd930ea5d5a258f4f',
      mch_id: '10000100',
      device_info: '1000',
      body: 'test',
      nonce_str: 'ibuaiVcKdpRxkhJA',
    };
    const key = Buffer.from('192006250b4c09247ec02edce69f6a2d');
    expect(wechatV2Sign(p, key, 'MD5')).toBe('9A0A8659F005D6984697E2CA0A9CF3B7');
    expect(wechatV2Sign(p, key)).toBe('6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6');
    const signed = { ...p, sign: wechatV2Sign(p, key) };
    expect(wechatV2Verify(signed, key)).toBe(true);
    expect(wechatV2Verify({ ...signed, body: 'test2' }, key)).toBe(false);
    expect(wechatV2Verify({ ...signed, sign: 'zz' }, key)).toBe(false);
  });

  it('v2 XML: CDATA round trip; DOCTYPE / entities refused', () => {
    const xml = buildWechatXml({ a: '1', body: '<咖啡> & ]]> 茶' });
    expect(parseWechatXml(xml)).toEqual({ a: '1', body: '<咖啡> & ]]> 茶' });
    expect(parseWechatXml('<xml><return_code>SUCCESS</return_code><m>a&amp;b</m></xml>')).toEqual({
      return_code: 'SUCCESS',
      m: 'a&b',
    });
    expect(() =>
      parseWechatXml('<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><a>&e;</a></xml>'),
    ).toThrow();
    expect(() => parseWechatXml('<xml><a><b>1</b></a></xml>')).toThrow();
  });

  it('v3 Authorization: built and parsed back', () => {
    const h = wechatV3Authorization({
      mchid: '1900000109',
      serialNo: 'ABC123',
      privateKey,
      method: 'GET',
      pathAndQuery: '/v3/pay/transactions/out-trade-no/X?mchid=1900000109',
      body: '',
      timestamp: '1700000000',
      nonce: 'N1',
    });
    const p = parseWechatAuthorization(h)!;
    expect(p.scheme).toBe('WECHATPAY2-SHA256-RSA2048');
    expect(p.params).toMatchObject({
      mchid: '1900000109',
      serial_no: 'ABC123',
      timestamp: '1700000000',
      nonce_str: 'N1',
    });
    expect(parseWechatAuthorization('WECHATPAY2-SHA256-RSA2048 mchid=1,nonce_str=2')?.params).toEqual({
      mchid: '1',
      nonce_str: '2',
    });
    expect(parseWechatAuthorization('garbage')).toBeUndefined();
  });

  it('v3 answers: body, serial, timestamp and signature must all fit', () => {
    const keys = new Map([['PUB_KEY_ID_1', publicKey]]);
    const body = '{"trade_state":"SUCCESS"}';
    const ts = String(Math.floor(Date.now() / 1000));
    const headers = {
      'Wechatpay-Timestamp': ts,
      'Wechatpay-Nonce': 'n',
      'Wechatpay-Serial': 'PUB_KEY_ID_1',
      'Wechatpay-Signature': sha256WithRsa(wechatV3ResponseMessage(ts, 'n', body), privateKey),
    };
    const opts = { maxSkewSeconds: 300 };
    expect(verifyWechatV3Signed(headers, body, keys, opts)).toEqual({ ok: true });
    expect(verifyWechatV3Signed(headers, body.replace('SUCCESS', 'NOTPAY'), keys, opts).ok).toBe(false);
    expect(verifyWechatV3Signed({ ...headers, 'Wechatpay-Serial': 'OTHER' }, body, keys, opts).ok).toBe(
      false,
    );
    expect(verifyWechatV3Signed(headers, body, keys, { ...opts, now: Date.now() + 600_000 }).ok).toBe(false);
    expect(
      verifyWechatV3Signed({ ...headers, 'Wechatpay-Signature': 'WECHATPAY/SIGNTEST/abc' }, body, keys, opts)
        .ok,
    ).toBe(false);
    const { ['Wechatpay-Nonce']: _n, ...noNonce } = headers;
    expect(verifyWechatV3Signed(noNonce, body, keys, opts).ok).toBe(false);
  });
});

describe('tampered answers and notifications through the adapters', () => {
  let rig: Awaited<ReturnType<typeof startRig>>;
  let sim: QrSimulator;
  let receiver: NotifyReceiver;
  let alipay: AlipayProvider;
  let wechat: WechatProvider;
  beforeAll(async () => {
    rig = await startRig();
    sim = rig.sim;
    receiver = rig.receiver;
    alipay = alipayFor(sim);
    wechat = wechatFor(sim);
  });
  afterAll(() => rig.close());

  it('an Alipay notification with any parameter changed, added or for another app is refused', async () => {
    const no = orderNo('S');
    value(await alipay.payByCode({ outTradeNo: no, amount: 100, subject: 'x', authCode: ALIPAY_CODE }));
    const [n] = await receiver.waitFor(1);
    const form = new URLSearchParams(n!.body);
    expect(value(alipay.verifyNotification({}, n!.body)).state).toBe('paid');
    for (const [k, v] of [
      ['total_amount', '1000.00'],
      ['trade_status', 'TRADE_CLOSED'],
      ['out_trade_no', 'OTHER'],
      ['extra', '1'],
    ] as const) {
      const f = new URLSearchParams(form);
      f.set(k, v);
      expect(alipay.verifyNotification({}, f.toString()), k).toMatchObject({
        status: 'unknown',
        reason: 'bad_signature',
      });
    }
    const dup = `${n!.body}&out_trade_no=X`;
    expect(alipay.verifyNotification({}, dup).status).toBe('rejected');
    const otherApp = alipayFor(sim, { appId: '2021000000009999' });
    expect(otherApp.verifyNotification({}, n!.body)).toMatchObject({
      status: 'rejected',
      code: 'invalid_request',
    });
  });

  it('a WeChat notification whose body, resource or key is wrong is refused', async () => {
    receiver.received.length = 0;
    const no = orderNo('S');
    value(
      await wechat.payByCode({ outTradeNo: no, amount: 100, subject: 'x', authCode: '134567890123451234' }),
    );
    const [n] = await receiver.waitFor(1);
    expect(value(wechat.verifyNotification(n!.headers, n!.body)).state).toBe('paid');
    expect(
      wechat.verifyNotification(n!.headers, n!.body.replace('TRANSACTION', 'TRANSACTIOM')),
    ).toMatchObject({
      status: 'unknown',
      reason: 'bad_signature',
    });
    // Properly signed by the platform, but the resource was not encrypted with our APIv3 key.
    const c = sim.credentials.wechat;
    const resource = encryptWechatResource(
      JSON.stringify({ mchid: c.mchid, out_trade_no: no, trade_state: 'SUCCESS' }),
      Buffer.alloc(32, 1),
      'transaction',
    );
    const body = JSON.stringify({
      id: '1',
      event_type: 'TRANSACTION.SUCCESS',
      resource_type: 'encrypt-resource',
      resource,
    });
    const ts = String(Math.floor(Date.now() / 1000));
    const headers = {
      'wechatpay-timestamp': ts,
      'wechatpay-nonce': 'abc',
      'wechatpay-serial': c.platformSerialNo,
      'wechatpay-signature': sha256WithRsa(wechatV3ResponseMessage(ts, 'abc', body), c.platformPrivateKey),
    };
    expect(wechat.verifyNotification(headers, body)).toMatchObject({
      status: 'unknown',
      reason: 'bad_signature',
    });
    // Right key, but another merchant's order.
    const res2 = encryptWechatResource(
      JSON.stringify({ mchid: '1', out_trade_no: no, trade_state: 'SUCCESS' }),
      c.apiV3Key,
      'transaction',
    );
    const body2 = JSON.stringify({ id: '2', event_type: 'TRANSACTION.SUCCESS', resource: res2 });
    const h2 = {
      ...headers,
      'wechatpay-signature': sha256WithRsa(wechatV3ResponseMessage(ts, 'abc', body2), c.platformPrivateKey),
    };
    expect(wechat.verifyNotification(h2, body2)).toMatchObject({
      status: 'rejected',
      code: 'invalid_request',
    });
    // Signed with a key that is not the platform's.
    const h3 = {
      ...headers,
      'wechatpay-signature': sha256WithRsa(wechatV3ResponseMessage(ts, 'abc', body), other.privateKey),
    };
    expect(wechat.verifyNotification(h3, body)).toMatchObject({ status: 'unknown', reason: 'bad_signature' });
  });
});
