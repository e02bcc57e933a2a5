import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import {
  startHostSimulator,
  type HostSimulator,
  type HostSimulatorOptions,
} from '../../simulators/host/index.js';
import { TestClient, type ClientOptions } from './client.js';

export interface Harness {
  sim: HostSimulator;
  dir: string;
  /** Log lines the simulator wrote (level info and up). */
  logs: string[];
  client(opts?: Partial<ClientOptions>): Promise<TestClient>;
  /** A connected client that has signed on (004). */
  terminal(opts?: Partial<ClientOptions>): Promise<TestClient>;
  control(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

let tidSeq = 0;
/** A TID no other test uses. */
export function freshTid(): string {
  tidSeq += 1;
  return `T${String(process.pid % 1000).padStart(3, '0')}${String(tidSeq).padStart(4, '0')}`;
}

export async function harness(options: HostSimulatorOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'host-sim-test-'));
  const logs: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  const sim = await startHostSimulator({
    settlementDir: join(dir, 'settlement'),
    logLevel: 'info',
    logStream: stream,
    ...options,
  });
  const clients: TestClient[] = [];
  const h: Harness = {
    sim,
    dir,
    logs,
    async client(opts = {}) {
      const c = await TestClient.connect({ port: sim.isoPort, tid: freshTid(), ...opts });
      clients.push(c);
      return c;
    },
    async terminal(opts = {}) {
      const c = await h.client(opts);
      await c.signOn('004');
      return c;
    },
    control(path, init) {
      return fetch(`http://127.0.0.1:${sim.controlPort}${path}`, init);
    },
    async close() {
      for (const c of clients) c.close();
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return h;
}

export function field(r: { msg?: { fields: Record<number, unknown> } } | undefined, n: number): unknown {
  return r?.msg?.fields[n];
}

export function rc(r: { msg?: { fields: Record<number, unknown> } } | undefined): string | undefined {
  return r?.msg?.fields[39] as string | undefined;
}
