/** `ZvtTerminal` options and timers. */
import type { Logger } from 'pino';
import type { IntegratedCapability } from '../integrated.js';
import type { Transport } from '../transport.js';
import type { ZvtCharset } from './charset.js';
import type { ExchangeTimers } from './exchange.js';
import { DEFAULT_SERIAL_TIMERS, type SerialLinkTimers } from './serial-link.js';
import type { ZvtSerialOptions, ZvtTcpOptions } from './transport.js';

export interface ZvtTimers extends ExchangeTimers, SerialLinkTimers {
  /** Opening the link plus registration (default 10 s). */
  connectMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
}

export const DEFAULT_ZVT_TIMERS: ZvtTimers = {
  t3Ms: 5_000,
  t4Ms: 180_000,
  honourTerminalT4: true,
  ...DEFAULT_SERIAL_TIMERS,
  connectMs: 10_000,
  backoffInitialMs: 500,
  backoffMaxMs: 30_000,
};

export const ALL_ZVT_CAPABILITIES: readonly IntegratedCapability[] = [
  'sale',
  'refund',
  'void',
  'preauth',
  'capture',
  'preauth_void',
  'end_of_day',
  'repeat_receipt',
  'status',
];

export interface ZvtTerminalOptions {
  /** The terminal on the network (port default 20007). */
  tcp?: ZvtTcpOptions;
  /** The terminal on a serial line (9600 8N2 by default). */
  serial?: ZvtSerialOptions;
  /** Or a transport made elsewhere (tests), with the framing it needs (default `tcp`: bare APDUs). */
  transport?: Transport;
  framing?: 'tcp' | 'serial';
  /** The terminal's 6-digit password (sent as 3 BCD bytes in 06 00, 06 20, 06 30, 06 31, 06 50). */
  password: string;
  /** ISO 4217 numeric sent at registration (default 978). */
  currency?: string;
  /** Registration config byte (default 9A: receipts as print lines, ECR controls payment, intermediate status). */
  configByte?: number;
  /** Also list Print Text-Block 06 D3 as permitted (TLV 26) at registration (default false: print lines). */
  textBlocks?: boolean;
  /** Send BMP 49 with payments (default true; the terminal then echoes it). */
  sendCurrency?: boolean;
  /** What this terminal may do (default all). */
  capabilities?: readonly IntegratedCapability[];
  /** Character set of receipt and display texts (default cp437, the ZVT default). */
  charset?: ZvtCharset;
  timers?: Partial<ZvtTimers>;
  logger?: Logger;
  /** Folder of the protocols/zvt tables (default: the installation's). */
  tablesDir?: string;
}
