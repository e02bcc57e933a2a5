/**
 * `posbridge-sim fleet --laptops 20`: a hub (PGlite in <home>/hub) with a fleet of laptops feeding it.
 * Each laptop is a real daemon in its own process (simulators/fleet/laptop.ts) with its own journal,
 * card reader simulator and TID, sharing one acquirer host simulator, and reaching the hub through a
 * relay the fleet can cut. A control API kills, restarts, cuts and restores laptops, and writes the
 * acquirer's settlement file for every terminal so finance can reconcile it at the hub.
 */
import { mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { createEnrolCode, startHubService, type HubService } from '../../src/hub/index.js';
import { startHostSimulator } from '../host/index.js';
import type { HostSimulator } from '../host/handle.js';
import { freshSimCli, spawnCli, type CliProcess } from '../processes.js';
import { startLinkProxy, type LinkProxy } from './link-proxy.js';

export interface FleetOptions {
  laptops: number;
  home: string;
  /** The hub's port (default 7590; 0 picks one). */
  hubPort?: number;
  controlPort?: number;
  /** Sales per minute per laptop (default 20). */
  rate?: number;
  seed?: number;
  adminPassword?: string;
  /** A PostgreSQL server for the hub instead of PGlite. */
  databaseUrl?: string;
  stores?: string[];
  log?: (line: string) => void;
}

export interface Laptop {
  tid: string;
  store: string;
  home: string;
  proxy: LinkProxy;
  proc: CliProcess | undefined;
  ws?: number;
}

export interface Fleet {
  hub: HubService;
  host: HostSimulator;
  laptops: Laptop[];
  controlPort: number;
  kill(tid: string): Promise<void>;
  /** Starts (or restarts) a laptop; `rate` overrides the fleet's sales per minute (0: none). */
  start(tid: string, opts?: { rate?: number }): Promise<void>;
  setCut(tid: string, cut: boolean): void;
  /** The acquirer's settlement/detail file for every terminal (CSV, as the host simulator writes it). */
  acquirerFile(): Promise<string>;
  stop(): Promise<void>;
}

const STORES = ['Shanghai Pudong', 'Beijing Chaoyang', 'Shenzhen Nanshan', 'Chengdu Wuhou', 'Hangzhou Xihu'];

export async function startFleet(o: FleetOptions): Promise<Fleet> {
  const home = resolve(o.home);
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const hub = await startHubService({
    port: o.hubPort ?? 7590,
    ...(o.databaseUrl ? { databaseUrl: o.databaseUrl } : { dataDir: join(home, 'hub') }),
    admin: { name: 'admin', password: o.adminPassword ?? 'posbridge-demo' },
    issueAdminToken: true,
  });
  const host = await startHostSimulator({ controlPort: 0, ledgerFile: join(home, 'host-ledger.json') });
  const stores = o.stores ?? STORES;
  const laptops: Laptop[] = [];
  for (let i = 0; i < o.laptops; i++) {
    const tid = `FL${String(i + 1).padStart(6, '0')}`;
    laptops.push({
      tid,
      store: stores[i % stores.length]!,
      home: join(home, 'laptops', tid),
      proxy: await startLinkProxy({ host: '127.0.0.1', port: hub.port }),
      proc: undefined,
    });
  }
  const byTid = (tid: string): Laptop => {
    const l = laptops.find((x) => x.tid === tid);
    if (!l) throw Object.assign(new Error(`no laptop ${tid}`), { status: 404 });
    return l;
  };
  // A process killed by a signal has exitCode null and signalCode set: it is gone all the same (a
  // SIGKILLed laptop read as running made the next start a no-op).
  const running = (l: { proc?: { child: { exitCode: number | null; signalCode: NodeJS.Signals | null } } }): boolean =>
    !!l.proc && l.proc.child.exitCode === null && l.proc.child.signalCode === null;
  async function start(tid: string, so: { rate?: number } = {}): Promise<void> {
    const l = byTid(tid);
    if (running(l)) return;
    mkdirSync(l.home, { recursive: true, mode: 0o700 });
    const { code } = await createEnrolCode(hub.db, { store: l.store, name: `laptop ${l.tid}` });
    const proc = spawnCli(freshSimCli(), [
      'laptop',
      '--home',
      l.home,
      '--tid',
      l.tid,
      '--host-port',
      String(host.isoPort),
      '--hub',
      `http://127.0.0.1:${l.proxy.port}`,
      '--code',
      code,
      '--rate',
      String(so.rate ?? o.rate ?? 20),
      '--seed',
      String((o.seed ?? 1) * 1000 + laptops.indexOf(l)),
    ]);
    l.proc = proc;
    const ready = await proc.waitForLine(/"ready":true/, 60_000, 'stdout');
    l.ws = (JSON.parse(ready.line) as { ws: number }).ws;
  }
  async function kill(tid: string): Promise<void> {
    const l = byTid(tid);
    if (!running(l) || !l.proc) return;
    l.proc.child.kill('SIGKILL');
    await l.proc.exited;
  }
  // Laptops start a few at a time: a 2-core machine starting twenty daemons at once crawls.
  for (let i = 0; i < laptops.length; i += 4) await Promise.all(laptops.slice(i, i + 4).map((l) => start(l.tid)));

  const control = createServer((req, res) => void route(req, res));
  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    try {
      const url = new URL(req.url ?? '/', 'http://fleet');
      const m = /^\/laptops\/([A-Z0-9]+)\/(kill|start|cut|restore)$/.exec(url.pathname);
      if (req.method === 'GET' && url.pathname === '/laptops') {
        send(200, laptops.map((l) => ({ tid: l.tid, store: l.store, running: running(l), cut: l.proxy.cut, ws: l.ws })));
      } else if (req.method === 'POST' && m) {
        const [, tid, action] = m;
        if (action === 'kill') await kill(tid!);
        else if (action === 'start') await start(tid!);
        else fleet.setCut(tid!, action === 'cut');
        send(200, { ok: true, tid, action });
      } else if (req.method === 'GET' && url.pathname === '/acquirer-file') {
        res.writeHead(200, { 'content-type': 'text/csv' }).end(await fleet.acquirerFile());
      } else send(404, { error: 'no such route' });
    } catch (e) {
      send((e as { status?: number }).status ?? 500, { error: (e as Error).message });
    }
  }
  await new Promise<void>((r) => control.listen(o.controlPort ?? 0, '127.0.0.1', () => r()));
  const fleet: Fleet = {
    hub,
    host,
    laptops,
    controlPort: (control.address() as AddressInfo).port,
    kill,
    start,
    setCut(tid, cut) {
      byTid(tid).proxy.setCut(cut);
    },
    acquirerFile: async () => (await host.writeSettlementFile({})).csv,
    async stop() {
      await Promise.all(
        laptops.map(async (l) => {
          if (running(l) && l.proc) {
            l.proc.child.kill('SIGTERM');
            const t = setTimeout(() => l.proc?.child.kill('SIGKILL'), 10_000);
            await l.proc.exited;
            clearTimeout(t);
          }
          await l.proxy.close();
        }),
      );
      await new Promise<void>((r) => control.close(() => r()));
      await host.close();
      await hub.close();
    },
  };
  log(`fleet: ${laptops.length} laptops feeding the hub at ${hub.url} (${hub.db.kind})`);
  return fleet;
}
