/**
 * TEST-ONLY credentials for the QR provider simulator: RSA key pairs made at start (or read from / written
 * to a keys directory with --keys-dir), an APIv3 key and an API v2 key. Never use them, or this code, for
 * a real merchant: real keys come from the providers' merchant platforms (see docs/qr.md).
 */
import { createPrivateKey, createPublicKey, generateKeyPair, randomBytes, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface QrSimCredentials {
  alipay: {
    appId: string;
    /** the merchant application's key pair (the adapter signs with the private key) */
    appPrivateKey: KeyObject;
    appPublicKey: KeyObject;
    /** "Alipay's" key pair (the simulator signs answers and notifications) */
    alipayPrivateKey: KeyObject;
    alipayPublicKey: KeyObject;
  };
  wechat: {
    mchid: string;
    appid: string;
    merchantPrivateKey: KeyObject;
    merchantPublicKey: KeyObject;
    merchantSerialNo: string;
    platformPrivateKey: KeyObject;
    platformPublicKey: KeyObject;
    /** a WeChat Pay public key id */
    platformSerialNo: string;
    apiV3Key: Buffer;
    apiV2Key: Buffer;
  };
}

function rsaPair(): Promise<{ privateKey: KeyObject; publicKey: KeyObject }> {
  return new Promise((resolve, reject) =>
    generateKeyPair('rsa', { modulusLength: 2048 }, (err, publicKey, privateKey) =>
      err ? reject(err) : resolve({ privateKey, publicKey }),
    ),
  );
}

/** A printable 32-character key (the providers' merchant platforms issue 32 ASCII characters). */
function asciiKey(): Buffer {
  return Buffer.from(randomBytes(24).toString('base64').replace(/[+/]/g, 'x'), 'ascii');
}

export async function generateQrCredentials(
  ids: {
    appId?: string;
    mchid?: string;
    appid?: string;
  } = {},
): Promise<QrSimCredentials> {
  const [app, alipay, merchant, platform] = await Promise.all([rsaPair(), rsaPair(), rsaPair(), rsaPair()]);
  return {
    alipay: {
      appId: ids.appId ?? '2021000000000001',
      appPrivateKey: app.privateKey,
      appPublicKey: app.publicKey,
      alipayPrivateKey: alipay.privateKey,
      alipayPublicKey: alipay.publicKey,
    },
    wechat: {
      mchid: ids.mchid ?? '1900000109',
      appid: ids.appid ?? 'wxd678efh567hg6787',
      merchantPrivateKey: merchant.privateKey,
      merchantPublicKey: merchant.publicKey,
      merchantSerialNo: randomBytes(20).toString('hex').toUpperCase(),
      platformPrivateKey: platform.privateKey,
      platformPublicKey: platform.publicKey,
      platformSerialNo: `PUB_KEY_ID_0119${randomBytes(8).toString('hex').toUpperCase()}`,
      apiV3Key: asciiKey(),
      apiV2Key: asciiKey(),
    },
  };
}

const pem = (k: KeyObject): string =>
  k.type === 'private'
    ? (k.export({ type: 'pkcs8', format: 'pem' }) as string)
    : (k.export({ type: 'spki', format: 'pem' }) as string);

/** Writes the test credentials as files (private keys 0600). Layout in docs/qr.md. */
export function writeQrCredentials(dir: string, c: QrSimCredentials): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const w = (name: string, text: string, secret: boolean): void =>
    writeFileSync(join(dir, name), text, { mode: secret ? 0o600 : 0o644 });
  w(
    'README.txt',
    'TEST-ONLY keys of the posbridge QR provider simulator. Never use them for a real merchant.\n',
    false,
  );
  w('alipay-app-private.pem', pem(c.alipay.appPrivateKey), true);
  w('alipay-app-public.pem', pem(c.alipay.appPublicKey), false);
  w('alipay-platform-private.pem', pem(c.alipay.alipayPrivateKey), true);
  w('alipay-public.pem', pem(c.alipay.alipayPublicKey), false);
  w('wechat-merchant-private.pem', pem(c.wechat.merchantPrivateKey), true);
  w('wechat-merchant-public.pem', pem(c.wechat.merchantPublicKey), false);
  w('wechat-platform-private.pem', pem(c.wechat.platformPrivateKey), true);
  w('wechat-platform-public.pem', pem(c.wechat.platformPublicKey), false);
  w('wechat-apiv3.key', c.wechat.apiV3Key.toString('ascii'), true);
  w('wechat-apiv2.key', c.wechat.apiV2Key.toString('ascii'), true);
  w(
    'ids.json',
    `${JSON.stringify(
      {
        alipay: { appId: c.alipay.appId },
        wechat: {
          mchid: c.wechat.mchid,
          appid: c.wechat.appid,
          merchantSerialNo: c.wechat.merchantSerialNo,
          platformSerialNo: c.wechat.platformSerialNo,
        },
      },
      null,
      2,
    )}\n`,
    false,
  );
}

export function readQrCredentials(dir: string): QrSimCredentials {
  const r = (name: string): string => readFileSync(join(dir, name), 'utf8');
  const ids = JSON.parse(r('ids.json')) as {
    alipay: { appId: string };
    wechat: { mchid: string; appid: string; merchantSerialNo: string; platformSerialNo: string };
  };
  return {
    alipay: {
      appId: ids.alipay.appId,
      appPrivateKey: createPrivateKey(r('alipay-app-private.pem')),
      appPublicKey: createPublicKey(r('alipay-app-public.pem')),
      alipayPrivateKey: createPrivateKey(r('alipay-platform-private.pem')),
      alipayPublicKey: createPublicKey(r('alipay-public.pem')),
    },
    wechat: {
      ...ids.wechat,
      merchantPrivateKey: createPrivateKey(r('wechat-merchant-private.pem')),
      merchantPublicKey: createPublicKey(r('wechat-merchant-public.pem')),
      platformPrivateKey: createPrivateKey(r('wechat-platform-private.pem')),
      platformPublicKey: createPublicKey(r('wechat-platform-public.pem')),
      apiV3Key: Buffer.from(r('wechat-apiv3.key').trim(), 'ascii'),
      apiV2Key: Buffer.from(r('wechat-apiv2.key').trim(), 'ascii'),
    },
  };
}

/** Reads the directory when it holds credentials, else generates them and writes them there. */
export async function loadOrCreateQrCredentials(dir: string): Promise<QrSimCredentials> {
  if (existsSync(join(dir, 'ids.json'))) return readQrCredentials(dir);
  const c = await generateQrCredentials();
  writeQrCredentials(dir, c);
  return c;
}
