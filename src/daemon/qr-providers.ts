/**
 * Scan-to-pay providers from the daemon configuration (docs/qr.md): the configuration names key files
 * (outside the state directory, 0600), this reads them into key objects the adapters hold privately.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { Logger } from 'pino';
import { AlipayProvider, WechatProvider, type QrMethod, type QrProvider } from '../qr/index.js';
import type { QrEntry } from './config.js';
import { CliFailure, EXIT } from './failures.js';

function secretFile(path: string, what: string): Buffer {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new CliFailure(
      EXIT.config,
      `${what} ${path} cannot be read (${(e as NodeJS.ErrnoException).code}): check qr in the configuration`,
    );
  }
  if (process.platform !== 'win32' && st.mode & 0o077)
    throw new CliFailure(EXIT.config, `${what} ${path} is readable by others: chmod 600 ${path}`);
  return readFileSync(path);
}

export function qrProvidersFromConfig(
  qr: QrEntry | undefined,
  logger?: Logger,
): Partial<Record<QrMethod, QrProvider>> {
  const out: Partial<Record<QrMethod, QrProvider>> = {};
  if (!qr) return out;
  if (qr.alipay) {
    const a = qr.alipay;
    out.alipay = new AlipayProvider({
      appId: a.appId,
      appPrivateKey: createPrivateKey(secretFile(a.appPrivateKeyFile, 'Alipay app private key')),
      alipayPublicKey: createPublicKey(readFileSync(a.alipayPublicKeyFile)),
      ...(a.gatewayUrl ? { gatewayUrl: a.gatewayUrl } : {}),
      ...(a.notifyUrl ? { notifyUrl: a.notifyUrl } : {}),
      ...(logger ? { log: logger.child({ component: 'qr', provider: 'alipay' }) } : {}),
    });
  }
  if (qr.wechat) {
    const w = qr.wechat;
    const v3 = Buffer.from(secretFile(w.apiV3KeyFile, 'WeChat Pay APIv3 key').toString('utf8').trim());
    out.wechat = new WechatProvider({
      mchid: w.mchid,
      appid: w.appid,
      merchantPrivateKey: createPrivateKey(
        secretFile(w.merchantPrivateKeyFile, 'WeChat Pay merchant private key'),
      ),
      merchantSerialNo: w.merchantSerialNo,
      platformPublicKeys: Object.fromEntries(
        Object.entries(w.platformPublicKeys).map(([id, file]) => [id, createPublicKey(readFileSync(file))]),
      ),
      apiV3Key: v3,
      ...(w.apiV2KeyFile
        ? {
            apiV2Key: Buffer.from(
              secretFile(w.apiV2KeyFile, 'WeChat Pay API v2 key').toString('utf8').trim(),
            ),
          }
        : {}),
      notifyUrl: w.notifyUrl,
      ...(w.baseUrl ? { baseUrl: w.baseUrl } : {}),
      ...(logger ? { log: logger.child({ component: 'qr', provider: 'wechat' }) } : {}),
    });
  }
  return out;
}
