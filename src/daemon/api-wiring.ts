import { timingSafeEqual } from 'node:crypto';
import {
  ApiError,
  createApiServer,
  type ApiServer,
  type SettlementBackend,
  type TerminalInfo,
  type TerminalsBackend,
  type TokenVerifier,
} from '../api/index.js';
import type { CardReader, ReaderInfo } from '../terminal/reader.js';
import type { Daemon } from './daemon-types.js';

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

/** What a single terminal (reader or integrated) must offer to be the API's terminal list. */
interface OneTerminal {
  id: string;
  info(): TerminalInfo;
  state(): string;
  start(): void;
  whenReady(ms: number): Promise<void>;
  on(event: 'state', l: () => void): void;
  off(event: 'state', l: () => void): void;
}

/** terminal.list / status / connect / disconnect / events for the desk's one terminal. */
function oneTerminalBackend(t: OneTerminal): TerminalsBackend {
  const check = (terminalId?: string): void => {
    if (terminalId !== undefined && terminalId !== t.id)
      throw new ApiError('unknown_terminal', `no terminal ${terminalId}`);
  };
  return {
    list: () => [t.info()],
    status(terminalId) {
      check(terminalId);
      return t.info();
    },
    async connect(terminalId) {
      check(terminalId);
      t.start();
      await t.whenReady(5000).catch(() => undefined);
      return t.info();
    },
    async disconnect(terminalId) {
      check(terminalId);
      if (t.state() === 'busy') throw new ApiError('reader_busy', 'the terminal is in a transaction');
      return t.info();
    },
    subscribe(listener) {
      const on = (): void => listener(t.info());
      t.on('state', on);
      return () => t.off('state', on);
    },
  };
}

/** The one configured reader (or integrated terminal) as the API's terminal list. */
export function terminalsBackend(daemon: Pick<Daemon, 'reader' | 'config' | 'integrated'>): TerminalsBackend {
  const id = daemon.config.terminalId;
  const t = daemon.integrated;
  if (t)
    return oneTerminalBackend({
      id,
      state: () => t.state,
      start: () => void t.start(),
      whenReady: (ms) => t.whenReady(ms),
      on: (e, l) => void t.on(e, l),
      off: (e, l) => void t.off(e, l),
      info() {
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
      },
    });
  const reader = daemon.reader as CardReader & {
    start?: () => void;
    whenReady?: (ms?: number) => Promise<void>;
    lastKnownInfo?: ReaderInfo;
  };
  const entry = daemon.config.readers[0];
  return oneTerminalBackend({
    id,
    state: () => reader.state,
    start: () => reader.start?.(),
    whenReady: (ms) => reader.whenReady?.(ms) ?? Promise.resolve(),
    on: (e, l) => void reader.on(e, l),
    off: (e, l) => void reader.off(e, l),
    info() {
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
    },
  });
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
