/** The running QR gateway simulator as its control API and tests see it (apart from index.ts, which starts it). */
import type { KeyObject } from 'node:crypto';
import type { QrBehaviour } from './behaviour.js';
import type { ScanAction } from './core.js';
import type { QrSimCredentials } from './keys.js';
import type { SimEvent, SimProvider, SimRefund, SimTrade } from './ledger.js';
import type { NotificationRecord } from './notify.js';
export interface QrSimulator {
  port: number;
  controlPort: number | undefined;
  /** http://host:port */
  url: string;
  alipay: {
    gatewayUrl: string;
    appId: string;
    /** verifies the simulator's answers and notifications */
    alipayPublicKey: KeyObject;
    /** TEST-ONLY merchant key the adapter signs with */
    appPrivateKey: KeyObject;
  };
  wechat: {
    baseUrl: string;
    mchid: string;
    appid: string;
    platformSerialNo: string;
    platformPublicKey: KeyObject;
    /** TEST-ONLY merchant key, serial and keys the adapter uses */
    merchantPrivateKey: KeyObject;
    merchantSerialNo: string;
    apiV3Key: Buffer;
    apiV2Key: Buffer;
  };
  credentials: QrSimCredentials;
  readonly behaviour: QrBehaviour;
  setBehaviour(raw: unknown): QrBehaviour;
  reset(): void;
  scan(
    ref: { outTradeNo?: string; qrContent?: string; provider?: SimProvider },
    action: ScanAction,
  ): SimTrade;
  setNotifyUrl(url: string | undefined): void;
  trades(provider?: SimProvider): SimTrade[];
  refunds(provider?: SimProvider): SimRefund[];
  events(): SimEvent[];
  notifications(): NotificationRecord[];
  bill(provider: SimProvider, date: string): Buffer | undefined;
  publicCredentials(): Record<string, unknown>;
  close(): Promise<void>;
}
