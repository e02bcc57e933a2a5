import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { CONFIG_SCHEMA } from './config-schema.js';

export interface ReaderEntry {
  id?: string;
  transport: 'serial' | 'tcp' | 'ble';
  path?: string;
  host?: string;
  port?: number;
  namePrefix?: string;
  profile?: string;
  pairedSerials: string[];
  expectedKcv?: Record<string, string>;
}

/** Scan-to-pay providers (docs/qr.md): key files, never keys. */
export interface QrEntry {
  alipay?: {
    appId: string;
    gatewayUrl?: string;
    appPrivateKeyFile: string;
    alipayPublicKeyFile: string;
    notifyUrl?: string;
  };
  wechat?: {
    mchid: string;
    appid: string;
    baseUrl?: string;
    merchantPrivateKeyFile: string;
    merchantSerialNo: string;
    platformPublicKeys: Record<string, string>;
    apiV3KeyFile: string;
    apiV2KeyFile?: string;
    notifyUrl: string;
  };
  expirySeconds?: number;
  pollMs?: number;
}

/** An integrated ZVT terminal (docs/zvt.md). */
export interface ZvtEntry {
  tcp?: { host: string; port?: number };
  serial?: { path: string; baudRate?: number };
  password: string;
  currency?: string;
  capabilities?: ('sale' | 'refund' | 'void' | 'preauth' | 'capture' | 'preauth_void')[];
  textBlocks?: boolean;
  charset?: 'cp437' | 'latin1';
}

export interface DaemonConfig {
  port: number;
  stateDir: string;
  terminalId: string;
  merchantId: string;
  merchantName?: string;
  currency: string;
  host: {
    address: string;
    port: number;
    dialect: string;
    tls?: { caFile?: string; servername?: string };
    framing?: {
      lengthHeader?: 'none' | '2-byte-binary' | '2-byte-bcd' | '4-byte-ascii';
      tpdu?: string | null;
      header?: string | null;
      swapTpdu?: boolean;
    };
    keyLayout: 'single' | 'double' | 'double-mak8';
    macAlgorithm: 'cup-ecb' | 'x9.19' | 'x9.9';
    security: 'reader' | 'software';
    masterKeyFile?: string;
  };
  readers: ReaderEntry[];
  /** The acquirer host link is configured (false on a ZVT-only desk: the terminal does its own acquiring). */
  hostEnabled: boolean;
  zvt?: ZvtEntry;
  qr?: QrEntry;
  /** Where the key-encrypting key lives (never the state directory). */
  keyStore: { kind: 'os' } | { kind: 'file'; path: string };
  allowedOrigins: string[];
  defaultOperatorId: string;
  webhook?: { url: string; secret: string };
  supervisor?: { threshold?: number; codes?: Record<string, string> };
  timers: {
    hostConnectMs?: number;
    hostResponseMs?: number;
    hostIdleEchoMs?: number;
    cardTimeoutSeconds?: number;
    helloDeadlineMs?: number;
    safPollMs?: number;
    reversalBackoffInitialMs?: number;
    reversalBackoffMaxMs?: number;
  };
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

export interface ConfigProblem {
  path: string;
  message: string;
}

/** The configuration is invalid; every problem has its JSON path. The daemon does not start. */
export class ConfigError extends Error {
  readonly code = 'invalid_config';
  constructor(
    readonly source: string,
    readonly problems: ConfigProblem[],
  ) {
    super(`configuration ${source}: ${problems.map((p) => `${p.path || '/'} ${p.message}`).join('; ')}`);
    this.name = 'ConfigError';
  }
}

export const DEFAULT_PORT = 7583;

/** The production state directory: POSBRIDGE_HOME, else ~/.posbridge. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['POSBRIDGE_HOME'] ? resolve(env['POSBRIDGE_HOME']) : join(homedir(), '.posbridge');
}

let validator: ReturnType<Ajv['compile']> | undefined;

/**
 * Validates a configuration object and fills defaults. The environment overrides the file:
 * POSBRIDGE_PORT the port, POSBRIDGE_HOME the state directory (as it does for every other command).
 */
export function parseConfig(
  raw: unknown,
  source = 'config',
  env: NodeJS.ProcessEnv = process.env,
): DaemonConfig {
  validator ??= new Ajv({ allErrors: true, strict: false }).compile(CONFIG_SCHEMA);
  if (!validator(raw)) {
    throw new ConfigError(
      source,
      (validator.errors ?? []).map((e: ErrorObject) => ({
        path:
          e.instancePath +
          (e.keyword === 'additionalProperties'
            ? `/${String(e.params['additionalProperty'])}`
            : e.keyword === 'required'
              ? `/${String(e.params['missingProperty'])}`
              : ''),
        message:
          e.keyword === 'additionalProperties'
            ? 'is not a known setting'
            : e.keyword === 'required'
              ? 'is required'
              : (e.message ?? 'is invalid'),
      })),
    );
  }
  const given = raw as Partial<DaemonConfig> &
    Pick<DaemonConfig, 'terminalId' | 'merchantId'> & {
      host?: Partial<DaemonConfig['host']> & { address: string; port: number };
    };
  const hostEnabled = given.host !== undefined;
  // A ZVT-only desk has no acquirer link: an inert one (never started) keeps the engine's shape.
  const c = {
    ...given,
    readers: given.readers ?? [],
    host: given.host ?? ({ address: '127.0.0.1', port: 1 } as NonNullable<typeof given.host>),
  };
  const problems: ConfigProblem[] = [];
  const envPort = env['POSBRIDGE_PORT'];
  let port = c.port ?? DEFAULT_PORT;
  if (envPort !== undefined && envPort !== '') {
    const p = Number(envPort);
    if (!Number.isInteger(p) || p < 0 || p > 65535)
      problems.push({ path: 'env:POSBRIDGE_PORT', message: 'must be a port number 0-65535' });
    else port = p;
  }
  c.readers.forEach((r, i) => {
    if (r.transport === 'serial' && !r.path)
      problems.push({ path: `/readers/${i}/path`, message: 'a serial reader needs path' });
    if (r.transport === 'tcp' && (!r.host || !r.port))
      problems.push({ path: `/readers/${i}`, message: 'a tcp reader needs host and port' });
  });
  const security = c.host.security ?? 'reader';
  if (security === 'software' && !c.host.masterKeyFile)
    problems.push({ path: '/host/masterKeyFile', message: 'software security needs a master key file' });
  if (problems.length) throw new ConfigError(source, problems);
  return {
    port,
    // One rule for every command: POSBRIDGE_HOME (or --home) names the state directory; the file's
    // stateDir is the default when it is unset.
    stateDir: env['POSBRIDGE_HOME']
      ? resolve(env['POSBRIDGE_HOME'])
      : c.stateDir
        ? resolve(c.stateDir)
        : defaultStateDir(env),
    terminalId: c.terminalId,
    merchantId: c.merchantId,
    ...(c.merchantName ? { merchantName: c.merchantName } : {}),
    currency: c.currency ?? '156',
    host: {
      address: c.host.address,
      port: c.host.port,
      dialect: c.host.dialect ?? 'cup-pos',
      ...(c.host.tls ? { tls: c.host.tls } : {}),
      ...(c.host.framing ? { framing: c.host.framing } : {}),
      keyLayout: c.host.keyLayout ?? 'double',
      macAlgorithm: c.host.macAlgorithm ?? 'cup-ecb',
      security,
      ...(c.host.masterKeyFile ? { masterKeyFile: c.host.masterKeyFile } : {}),
    },
    readers: c.readers,
    hostEnabled,
    ...(c.zvt ? { zvt: c.zvt } : {}),
    ...(c.qr ? { qr: c.qr } : {}),
    // POSBRIDGE_KEY_FILE (explicit, like POSBRIDGE_HOME) wins; else the file's keyStore; else the OS store.
    keyStore: env['POSBRIDGE_KEY_FILE']
      ? { kind: 'file', path: resolve(env['POSBRIDGE_KEY_FILE']) }
      : c.keyStore?.kind === 'file'
        ? { kind: 'file', path: resolve(c.keyStore.path) }
        : { kind: 'os' },
    allowedOrigins: c.allowedOrigins ?? [],
    defaultOperatorId: c.defaultOperatorId ?? 'default',
    ...(c.webhook ? { webhook: c.webhook } : {}),
    ...(c.supervisor ? { supervisor: c.supervisor } : {}),
    timers: c.timers ?? {},
    logLevel: c.logLevel ?? 'info',
  };
}

export function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): DaemonConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ConfigError(path, [{ path: '', message: `cannot be read as JSON (${(e as Error).message})` }]);
  }
  return parseConfig(raw, path, env);
}

/** The key store commands use without a configuration file: POSBRIDGE_KEY_FILE, else the OS store. */
export function keyStoreFromEnv(env: NodeJS.ProcessEnv): DaemonConfig['keyStore'] {
  return env['POSBRIDGE_KEY_FILE']
    ? { kind: 'file', path: resolve(env['POSBRIDGE_KEY_FILE']) }
    : { kind: 'os' };
}

/**
 * The key store of a state directory used without a configuration file (doctor --home, keys, reconcile
 * offline): POSBRIDGE_KEY_FILE, else a key file `<stateDir>.kek` beside the state directory when there is
 * one (where the demo keeps its key-encrypting key), else the OS store.
 */
export function keyStoreForStateDir(
  stateDir: string,
  env: NodeJS.ProcessEnv = process.env,
): DaemonConfig['keyStore'] {
  if (env['POSBRIDGE_KEY_FILE']) return keyStoreFromEnv(env);
  const beside = `${resolve(stateDir)}.kek`;
  return existsSync(beside) ? { kind: 'file', path: beside } : { kind: 'os' };
}
