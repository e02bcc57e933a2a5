import { timingSafeEqual } from 'node:crypto';
import {
  ApiError,
  createApiServer,
  type ApiServer,
  type SettlementBackend,
  type TerminalsBackend,
  type TokenVerifier,
} from '../api/index.js';
import type { IntegratedTerminal } from '../terminal/integrated.js';
import type { CardReader, ReaderInfo } from '../terminal/reader.js';
import type { Daemon } from './daemon.js';

/** The token file's token (scripts, QA). Pairing (paired per-origin tokens) adds to this store. */
export function tokenVerifier(daemon: Pick<Daemon, 'token'>, extra?: TokenVerifier): TokenVerifier {
  const expected = Buffer.from(daemon.token);
  return {
    async verify(token) {
      const got = Buffer.from(String(token));
      if (got.length === expected.length && timingSafeEqual(got, expected))
        return { ok: true, tokenId: 'token-file' };
      return extra ? extra.verify(token) : { ok: false };
    },
  };
}

/** The one configured reader as the API's terminal list. */
export function terminalsBackend(daemon: Pick<Daemon, 'reader' | 'config' | 'integrated'>): TerminalsBackend {
  if (daemon.integrated) return integratedBackend(daemon.integrated, daemon.config.terminalId);
  const reader = daemon.reader as CardReader & {
    start?: () => void;
    whenReady?: (ms?: number) => Promise<void>;
    lastKnownInfo?: ReaderInfo;
  };
  const id = daemon.config.terminalId;
  const entry = daemon.config.readers[0];
  const info = () => {
    const i = reader.lastKnownInfo;
    return {
      terminalId: id,
      state: reader.state,
      kind: 'reader' as const,
      ...(entry ? { transport: entry.transport } : {}),
      ...(i
        ? {
            model: i.model,
            serialNumber: i.serialNumber,
            firmware: i.firmware,
            ...(i.batteryPercent !== undefined ? { batteryPercent: i.batteryPercent } : {}),
          }
        : {}),
    };
  };
  const check = (terminalId?: string): void => {
    if (terminalId !== undefined && terminalId !== id)
      throw new ApiError('unknown_terminal', `no terminal ${terminalId}`);
  };
  return {
    list: () => [info()],
    status(terminalId) {
      check(terminalId);
      return info();
    },
    async connect(terminalId) {
      check(terminalId);
      reader.start?.();
      await reader.whenReady?.(5000).catch(() => undefined);
      return info();
    },
    async disconnect(terminalId) {
      check(terminalId);
      if (reader.state === 'busy') throw new ApiError('reader_busy', 'the reader is in a transaction');
      return info();
    },
    subscribe(listener) {
      const on = (): void => listener(info());
      reader.on('state', on);
      return () => reader.off('state', on);
    },
  };
}

/** terminal.list and friends for an integrated terminal (ZVT): its state, kind and capabilities. */
function integratedBackend(t: IntegratedTerminal, id: string): TerminalsBackend {
  const info = () => {
    const i = t.info();
    return {
      terminalId: id,
      state: t.state,
      transport: i.address.startsWith('tcp://') ? 'tcp' : 'serial',
      kind: t.kind,
      capabilities: [...t.capabilities],
      name: `${t.kind.toUpperCase()} ${i.address}`,
      ...(i.model ? { model: i.model } : {}),
      ...(i.terminalId ? { serialNumber: i.terminalId } : {}),
      ...(i.firmware ? { firmware: i.firmware } : {}),
    };
  };
  const check = (terminalId?: string): void => {
    if (terminalId !== undefined && terminalId !== id)
      throw new ApiError('unknown_terminal', `no terminal ${terminalId}`);
  };
  return {
    list: () => [info()],
    status(terminalId) {
      check(terminalId);
      return info();
    },
    async connect(terminalId) {
      check(terminalId);
      t.start();
      await t.whenReady(5000).catch(() => undefined);
      return info();
    },
    async disconnect(terminalId) {
      check(terminalId);
      if (t.state === 'busy') throw new ApiError('reader_busy', 'the terminal is in a transaction');
      return info();
    },
    subscribe(listener) {
      const on = (): void => listener(info());
      t.on('state', on);
      return () => t.off('state', on);
    },
  };
}

export interface ApiWiringOptions {
  allowedOrigins: readonly string[];
  helloDeadlineMs?: number;
  extraTokens?: TokenVerifier;
  pair?: (code: string, origin: string | undefined) => Promise<string | undefined>;
  settlement?: SettlementBackend;
}

/** Creates the WebSocket API on the daemon's server (at /ws). */
export function attachApi(daemon: Daemon, options: ApiWiringOptions): ApiServer {
  const api = createApiServer({
    engine: daemon.engine,
    auth: {
      tokens: tokenVerifier(daemon, options.extraTokens),
      allowedOrigins: options.allowedOrigins,
      ...(options.helloDeadlineMs ? { helloDeadlineMs: options.helloDeadlineMs } : {}),
    },
    terminals: terminalsBackend(daemon),
    defaultOperatorId: daemon.config.defaultOperatorId,
    logger: daemon.logger,
    ...(options.pair ? { pair: options.pair } : {}),
    ...(options.settlement ? { settlement: options.settlement } : {}),
  });
  api.attach(daemon.server);
  return api;
}
