/**
 * API test bench: an Engine against the in-process host simulator (as test/engine/harness.ts) with a
 * reader the test can hold at "present card", an http.Server on 127.0.0.1:0 with the API attached,
 * fake terminals, and clients (typed, and raw sockets for malformed input).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket as WS, type ClientOptions as WsOptions } from 'ws';
import { Engine, type EngineConfig } from '../../src/engine/index.js';
import { HostLink } from '../../src/host/index.js';
import { Journal } from '../../src/journal/index.js';
import type {
  CancelResult,
  ReaderProgressEvent,
  StartResult,
  StartTransaction,
} from '../../src/terminal/reader.js';
import type { HostSimulator } from '../../simulators/host/index.js';
import { InstantReader } from '../../simulators/shared/instant-reader.js';
import { harness, MID, TID } from '../engine/harness.js';
import {
  ApiError,
  createApiServer,
  type ApiServer,
  type ApiServerOptions,
  type TerminalInfo,
  type TerminalsBackend,
} from '../../src/api/index.js';
import { PosbridgeClient, type ClientOptions } from '../../src/api/client/index.js';

export const TOKEN = 'test-token-0123456789abcdef0123456789abcdef';
export const CRM_ORIGIN = 'https://crm.example.com';
export const OTHER_ORIGIN = 'https://other.example.com';
export { TID, MID };

/** InstantReader that can be held at "present card" (and then cancelled or released). */
export class ControlledReader extends InstantReader {
  hold = false;
  delayMs = 0;
  private waiting: ((cancelled: boolean) => void) | undefined;
  private waitingStarted: (() => void)[] = [];

  override async startTransaction(
    reference: string,
    request: StartTransaction,
    onProgress?: (e: ReaderProgressEvent) => void,
  ): Promise<StartResult> {
    if (this.hold || this.delayMs > 0) {
      onProgress?.({ progress: 'present_card', at: new Date() });
      const cancelled = await new Promise<boolean>((resolve) => {
        this.waiting = resolve;
        for (const f of this.waitingStarted.splice(0)) f();
        if (!this.hold) setTimeout(() => resolve(false), this.delayMs);
      });
      this.waiting = undefined;
      if (cancelled) return { status: 'cancelled', by: 'operator' };
    }
    return super.startTransaction(reference, request, onProgress);
  }

  /** Resolves once a transaction waits for a card. */
  whenWaiting(): Promise<void> {
    if (this.waiting) return Promise.resolve();
    return new Promise((r) => this.waitingStarted.push(r));
  }

  release(): void {
    this.hold = false;
    this.waiting?.(false);
  }

  override async cancel(): Promise<CancelResult> {
    if (this.waiting) {
      this.waiting(true);
      return { status: 'cancelled' };
    }
    return super.cancel();
  }
}

export class FakeTerminals implements TerminalsBackend {
  readonly terminals = new Map<string, TerminalInfo>([
    [
      'R1',
      { terminalId: 'R1', state: 'idle', transport: 'simulator', model: 'fake', serialNumber: 'FAKE0001' },
    ],
  ]);
  private readonly listeners = new Set<(t: TerminalInfo) => void>();

  private get(id = 'R1'): TerminalInfo {
    const t = this.terminals.get(id);
    if (!t) throw new ApiError('unknown_terminal', `no reader ${id}`, { path: 'params.terminalId' });
    return t;
  }

  set(id: string, state: TerminalInfo['state']): void {
    const t = this.get(id);
    t.state = state;
    for (const l of this.listeners) l({ ...t });
  }

  list(): TerminalInfo[] {
    return [...this.terminals.values()].map((t) => ({ ...t }));
  }
  status(id?: string): TerminalInfo {
    return { ...this.get(id) };
  }
  async connect(id?: string): Promise<TerminalInfo> {
    this.set(id ?? 'R1', 'idle');
    return this.status(id);
  }
  async disconnect(id?: string): Promise<TerminalInfo> {
    this.set(id ?? 'R1', 'disconnected');
    return this.status(id);
  }
  subscribe(listener: (t: TerminalInfo) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export interface Bench {
  dir: string;
  sim: HostSimulator;
  link: HostLink;
  reader: ControlledReader;
  journal: Journal;
  engine: Engine;
  terminals: FakeTerminals;
  api: ApiServer;
  http: Server;
  port: number;
  url: string;
  client(options?: Partial<ClientOptions>): PosbridgeClient;
  /** A connected, authorised client (closed by close()). */
  connected(options?: Partial<ClientOptions>): Promise<PosbridgeClient>;
  raw(options?: WsOptions & { path?: string }): Promise<RawSocket>;
  close(): Promise<void>;
}

export async function startBench(
  options: {
    engine?: Partial<EngineConfig>;
    api?: Partial<ApiServerOptions>;
    /** Scan-to-pay providers and their timers (engine deps). */
    qr?: Parameters<typeof harness>[0] extends infer O ? (O extends { qr?: infer Q } ? Q : never) : never;
    qrTimers?: Parameters<typeof harness>[0] extends infer O
      ? O extends { qrTimers?: infer T }
        ? T
        : never
      : never;
  } = {},
): Promise<Bench> {
  // The engine stack (host simulator, journal, host link, engine) is the engine tests' harness.
  const reader = new ControlledReader();
  const h = await harness({
    reader,
    dir: mkdtempSync(join(tmpdir(), 'pb-api-')),
    ...(options.engine ? { config: options.engine } : {}),
    ...(options.qr ? { qr: options.qr } : {}),
    ...(options.qrTimers ? { qrTimers: options.qrTimers } : {}),
  });
  const { dir, sim, link, journal, engine } = h;
  const terminals = new FakeTerminals();
  const api = createApiServer({
    engine,
    auth: {
      tokens: { verify: (t) => ({ ok: t === TOKEN, tokenId: 'file' }) },
      allowedOrigins: [CRM_ORIGIN, OTHER_ORIGIN],
      helloDeadlineMs: 400,
    },
    terminals,
    defaultOperatorId: 'op-default',
    validateOutput: true,
    serverVersion: 'test',
    ...options.api,
  });
  const http = createServer((_req, res) => {
    res.writeHead(404);
    res.end();
  });
  api.attach(http);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;
  const url = `ws://127.0.0.1:${port}/ws`;
  const clients: PosbridgeClient[] = [];
  const raws: RawSocket[] = [];
  const client = (o: Partial<ClientOptions> = {}): PosbridgeClient => {
    const c = new PosbridgeClient({
      url,
      token: TOKEN,
      WebSocket: WS,
      reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
      requestTimeoutMs: 10_000,
      ...o,
    });
    clients.push(c);
    return c;
  };
  return {
    dir,
    sim,
    link,
    reader,
    journal,
    engine,
    terminals,
    api,
    http,
    port,
    url,
    client,
    async connected(o = {}) {
      const c = client(o);
      await c.connect();
      return c;
    },
    async raw(o = {}) {
      const r = await RawSocket.open(`ws://127.0.0.1:${port}${o.path ?? '/ws'}`, o);
      raws.push(r);
      return r;
    },
    async close() {
      for (const c of clients) c.close();
      for (const r of raws) r.ws.terminate();
      await api.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      reader.release();
      await h.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A plain `ws` socket that collects what the server sends, for malformed-input and auth tests. */
export class RawSocket {
  readonly messages: Record<string, unknown>[] = [];
  private waiters: (() => void)[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private nextId = 1;

  private constructor(readonly ws: WS) {
    ws.on('message', (data) => {
      this.messages.push(JSON.parse(String(data)) as Record<string, unknown>);
      for (const w of this.waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
    );
    ws.on('error', () => undefined);
  }

  static open(url: string, options: WsOptions = {}): Promise<RawSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WS(url, options);
      const r = new RawSocket(ws);
      ws.once('open', () => resolve(r));
      ws.once('error', reject);
    });
  }

  sendText(text: string): void {
    this.ws.send(text);
  }

  /** The next response with this id (or the next message with id null). */
  async response(id: number | string | null): Promise<Record<string, unknown>> {
    for (;;) {
      const i = this.messages.findIndex((m) => 'id' in m && m['id'] === id);
      if (i >= 0) return this.messages.splice(i, 1)[0]!;
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no response ${String(id)}`)), 5000);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The next message, in arrival order. */
  async next(): Promise<Record<string, unknown>> {
    for (;;) {
      if (this.messages.length) return this.messages.shift()!;
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no message')), 5000);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Sends a request and waits for its answer. */
  async call(method: string, params?: unknown): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    this.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, ...(params !== undefined ? { params } : {}) }));
    return this.response(id);
  }

  /** Sends raw text and waits for the error answer with id null. */
  async garbage(text: string | Buffer, binary = false): Promise<Record<string, unknown>> {
    this.ws.send(text, { binary });
    return this.response(null);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function until(check: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

export const errorData = (
  m: Record<string, unknown>,
): { code: number; message: string; data: { code: string; retryable: boolean; path?: string } } =>
  m['error'] as never;
