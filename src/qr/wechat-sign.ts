/**
 * WeChat Pay signatures.
 *
 * API v3 (JSON over HTTPS):
 * - request: `Authorization: WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",signature="…",timestamp="…",serial_no="…"`,
 *   signature = SHA256withRSA(merchant private key) over `METHOD\nPATH?QUERY\nTIMESTAMP\nNONCE\nBODY\n`
 *   (BODY empty for GET);
 * - response and notification: `Wechatpay-Signature` over `TIMESTAMP\nNONCE\nBODY\n` with the platform
 *   key named by `Wechatpay-Serial` (platform certificate serial or WeChat Pay public key id), timestamp in
 *   `Wechatpay-Timestamp`, nonce in `Wechatpay-Nonce`;
 * - notification `resource`: AEAD_AES_256_GCM, key = APIv3 key (32 bytes), IV = `nonce` (12 characters),
 *   AAD = `associated_data`, `ciphertext` = base64(ciphertext ‖ 16-byte tag).
 *
 * API v2 (XML, payment code): sign = uppercase hex HMAC-SHA256(key = API v2 key) (or MD5) over the non-empty
 * parameters except `sign`, sorted, `k=v` joined by `&`, then `&key=<API v2 key>`.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createSign,
  createVerify,
  randomBytes,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';

export const WECHAT_AUTH_SCHEME = 'WECHATPAY2-SHA256-RSA2048';

export function nonceStr(bytes = 16): string {
  return randomBytes(bytes).toString('hex').toUpperCase();
}

export function wechatV3RequestMessage(
  method: string,
  pathAndQuery: string,
  timestamp: string,
  nonce: string,
  body: string,
): string {
  return `${method}\n${pathAndQuery}\n${timestamp}\n${nonce}\n${body}\n`;
}

export function wechatV3ResponseMessage(timestamp: string, nonce: string, body: string): string {
  return `${timestamp}\n${nonce}\n${body}\n`;
}

export function sha256WithRsa(message: string, privateKey: KeyObject): string {
  return createSign('RSA-SHA256').update(message, 'utf8').sign(privateKey, 'base64');
}

export function sha256WithRsaVerify(message: string, signature: string, publicKey: KeyObject): boolean {
  if (!signature || !/^[A-Za-z0-9+/=]+$/.test(signature)) return false;
  try {
    return createVerify('RSA-SHA256').update(message, 'utf8').verify(publicKey, signature, 'base64');
  } catch {
    return false;
  }
}

export interface V3AuthInput {
  mchid: string;
  serialNo: string;
  privateKey: KeyObject;
  method: string;
  pathAndQuery: string;
  body: string;
  timestamp?: string;
  nonce?: string;
}

export function wechatV3Authorization(a: V3AuthInput): string {
  const timestamp = a.timestamp ?? String(Math.floor(Date.now() / 1000));
  const nonce = a.nonce ?? nonceStr();
  const signature = sha256WithRsa(
    wechatV3RequestMessage(a.method, a.pathAndQuery, timestamp, nonce, a.body),
    a.privateKey,
  );
  return (
    `${WECHAT_AUTH_SCHEME} mchid="${a.mchid}",nonce_str="${nonce}",signature="${signature}",` +
    `timestamp="${timestamp}",serial_no="${a.serialNo}"`
  );
}

export interface ParsedAuthorization {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `SCHEME k="v",k=v,...` (quotes optional). Undefined when malformed. */
export function parseWechatAuthorization(header: string | undefined): ParsedAuthorization | undefined {
  if (!header) return undefined;
  const sp = header.indexOf(' ');
  if (sp <= 0) return undefined;
  const scheme = header.slice(0, sp);
  const params: Record<string, string> = {};
  const re = /\s*([a-z_]+)=(?:"([^"]*)"|([^,]*))\s*(?:,|$)/gy;
  const rest = header.slice(sp + 1);
  re.lastIndex = 0;
  let consumed = 0;
  for (let m = re.exec(rest); m !== null && m[0] !== ''; m = re.exec(rest)) {
    params[m[1]!] = m[2] ?? m[3] ?? '';
    consumed = re.lastIndex;
  }
  if (consumed !== rest.length) return undefined;
  return { scheme, params };
}

/** Case-insensitive header lookup (Node lower-cases, other callers may not). */
export function header(
  headers: Record<string, string | string[] | undefined>,
  name: string,
): string | undefined {
  const want = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === want) return Array.isArray(v) ? v[0] : v;
  }
  return undefined;
}

export type V3SignedCheck = { ok: true } | { ok: false; message: string };

/** Verifies a v3 response or notification signature and its timestamp's freshness. */
export function verifyWechatV3Signed(
  headers: Record<string, string | string[] | undefined>,
  body: string,
  platformKeys: ReadonlyMap<string, KeyObject>,
  opts: { maxSkewSeconds: number; now?: number },
): V3SignedCheck {
  const signature = header(headers, 'wechatpay-signature');
  const timestamp = header(headers, 'wechatpay-timestamp');
  const nonce = header(headers, 'wechatpay-nonce');
  const serial = header(headers, 'wechatpay-serial');
  if (!signature || !timestamp || !nonce || !serial)
    return { ok: false, message: 'signature headers missing' };
  const key = platformKeys.get(serial);
  if (!key) return { ok: false, message: `unknown platform serial ${serial.slice(0, 40)}` };
  if (!/^[0-9]{1,12}$/.test(timestamp)) return { ok: false, message: 'bad Wechatpay-Timestamp' };
  const now = (opts.now ?? Date.now()) / 1000;
  if (Math.abs(now - Number(timestamp)) > opts.maxSkewSeconds)
    return { ok: false, message: 'Wechatpay-Timestamp outside the allowed clock skew' };
  if (!sha256WithRsaVerify(wechatV3ResponseMessage(timestamp, nonce, body), signature, key))
    return { ok: false, message: 'the signature does not verify' };
  return { ok: true };
}

export interface EncryptedResource {
  algorithm?: string;
  ciphertext: string;
  nonce: string;
  associated_data?: string;
  original_type?: string;
}

/** AEAD_AES_256_GCM decryption of a notification resource; throws when the tag does not verify. */
export function decryptWechatResource(r: EncryptedResource, apiV3Key: Buffer): string {
  if (r.algorithm !== undefined && r.algorithm !== 'AEAD_AES_256_GCM')
    throw new Error(`unsupported resource algorithm ${r.algorithm}`);
  const data = Buffer.from(r.ciphertext, 'base64');
  if (data.length < 17) throw new Error('resource ciphertext too short');
  const decipher = createDecipheriv('aes-256-gcm', apiV3Key, Buffer.from(r.nonce, 'utf8'));
  decipher.setAuthTag(data.subarray(data.length - 16));
  decipher.setAAD(Buffer.from(r.associated_data ?? '', 'utf8'));
  return Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString(
    'utf8',
  );
}

/** The provider side of the above (simulators). */
export function encryptWechatResource(
  plaintext: string,
  apiV3Key: Buffer,
  associatedData: string,
  nonce = randomBytes(6).toString('hex'),
): Required<EncryptedResource> {
  const cipher = createCipheriv('aes-256-gcm', apiV3Key, Buffer.from(nonce, 'utf8'));
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return {
    algorithm: 'AEAD_AES_256_GCM',
    ciphertext: ct.toString('base64'),
    nonce,
    associated_data: associatedData,
    original_type: 'transaction',
  };
}

export type V2SignType = 'HMAC-SHA256' | 'MD5';

export function wechatV2Sign(
  params: Record<string, string>,
  apiKey: Buffer,
  type: V2SignType = 'HMAC-SHA256',
): string {
  const content = Object.keys(params)
    .filter((k) => k !== 'sign' && params[k] !== undefined && params[k] !== '')
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join('&');
  const withKey = `${content}&key=${apiKey.toString('utf8')}`;
  const digest =
    type === 'MD5'
      ? createHash('md5').update(withKey, 'utf8').digest('hex')
      : createHmac('sha256', apiKey).update(withKey, 'utf8').digest('hex');
  return digest.toUpperCase();
}

export function wechatV2Verify(
  params: Record<string, string>,
  apiKey: Buffer,
  type: V2SignType = 'HMAC-SHA256',
): boolean {
  const got = params['sign'];
  if (!got || !/^[0-9A-Fa-f]+$/.test(got)) return false;
  const want = Buffer.from(wechatV2Sign(params, apiKey, type), 'utf8');
  const have = Buffer.from(got.toUpperCase(), 'utf8');
  return want.length === have.length && timingSafeEqual(want, have);
}
