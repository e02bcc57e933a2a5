import { AlipayProvider, WechatProvider, type QrMethod, type QrProvider } from '../../src/qr/index.js';
import type { QrSimulator } from './index.js';

/** An Alipay adapter configured against a running QR simulator (its test-only keys). */
export function alipayFor(
  sim: QrSimulator,
  extra: Partial<ConstructorParameters<typeof AlipayProvider>[0]> = {},
): AlipayProvider {
  return new AlipayProvider({
    appId: sim.alipay.appId,
    appPrivateKey: sim.alipay.appPrivateKey,
    alipayPublicKey: sim.alipay.alipayPublicKey,
    gatewayUrl: sim.alipay.gatewayUrl,
    ...extra,
  });
}

/** A WeChat Pay adapter configured against a running QR simulator (its test-only keys). */
export function wechatFor(
  sim: QrSimulator,
  extra: Partial<ConstructorParameters<typeof WechatProvider>[0]> = {},
): WechatProvider {
  return new WechatProvider({
    mchid: sim.wechat.mchid,
    appid: sim.wechat.appid,
    merchantPrivateKey: sim.wechat.merchantPrivateKey,
    merchantSerialNo: sim.wechat.merchantSerialNo,
    platformPublicKeys: { [sim.wechat.platformSerialNo]: sim.wechat.platformPublicKey },
    apiV3Key: sim.wechat.apiV3Key,
    apiV2Key: sim.wechat.apiV2Key,
    baseUrl: sim.wechat.baseUrl,
    notifyUrl: `${sim.url}/notify-sink`,
    ...extra,
  });
}

/** Both adapters against the simulator: the demo's providers. */
export function qrProvidersFor(sim: QrSimulator): Record<QrMethod, QrProvider> {
  return { alipay: alipayFor(sim), wechat: wechatFor(sim) };
}
