/**
 * The host simulator's control API: loopback HTTP + JSON (node:http), for QA, tests and the demo.
 *
 *   GET    /health                       status, ports, counts
 *   GET    /faults                       the fault rules with their counters
 *   POST   /faults                       add a rule (or an array of rules) -> 201 with the rules
 *   DELETE /faults/:id                   remove one -> 204 (404 when unknown)
 *   DELETE /faults                       remove all -> 204
 *   GET    /ledger                       accounts, transactions, settlements, terminals (no keys)
 *   GET    /transactions?tid=&stan=&batch=&rrn=
 *   GET    /settlement-file?tid=&batch=  CSV (text/csv), also written to the settlement directory
 *   POST   /reset                        opening balances, no transactions, no faults, no DUKPT counters -> 204
 *   GET    /dukpt                        DUKPT devices seen: initial key ID, highest KSN counter, used, replays
 *   GET    /cards                        the test cards (masked PAN) with balances
 *   GET    /terminal-params              the CAPK / AID set served, pending "download again" flags, counts
 *   PUT    /terminal-params              replace the set ({ capks, aids }) -> 200 with it
 *   POST   /terminal-params/download-again  { "kind": "capk" | "aid" }: flag the next responses -> 202
 *
 * Errors: `{ "error": { "code": "...", "message": "..." } }` with 400, 404 or 405.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { publicCardView } from '../shared/cards.js';
import { FaultError } from './faults.js';
import { Ledger, type TerminalSession } from './ledger.js';
import type { HostSimulator } from './handle.js';
import { HttpError, readJsonBody, send } from '../shared/control-http.js';

export interface ControlApi {
  port: number;
  close(): Promise<void>;
}

interface Context {
  sim: HostSimulator;
  log: Logger;
  authorizerSessions(): Record<string, TerminalSession>;
}

const MAX_BODY = 1 << 20;

function readBody(req: IncomingMessage): Promise<unknown> {
  return readJsonBody(req, MAX_BODY);
}

/** The ledger as the API shows it: accounts with their available balance, terminals without keys. */
export function ledgerView(sim: HostSimulator): Record<string, unknown> {
  const s = sim.ledger.snapshot;
  const accounts: Record<string, unknown> = {};
  for (const [id, a] of Object.entries(s.accounts)) accounts[id] = { ...a, available: a.balance - a.held };
  const terminals: Record<string, unknown> = {};
  for (const [tid, t] of Object.entries(s.sessions))
    terminals[tid] = { layout: t.layout, networkCode: t.networkCode, kcv: t.kcv, signedOnAt: t.signedOnAt };
  return {
    accounts,
    transactions: s.transactions.map((t) => ({ ...t, status: Ledger.status(t) })),
    settlements: s.settlements,
    closedBatches: s.closedBatches,
    unmatchedReversals: s.unmatchedReversals,
    uploads: s.uploads,
    terminals,
  };
}

export async function startControlApi(port: number, ctx: Context): Promise<ControlApi> {
  const { sim, log } = ctx;

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    const q = (name: string): string | undefined => url.searchParams.get(name) ?? undefined;

    if (path === '/health' && method === 'GET') {
      return send(res, 200, {
        ok: true,
        dialect: sim.dialect.name,
        iso: sim.isoPort,
        control: sim.controlPort,
        connections: sim.connections,
        terminals: Object.keys(ctx.authorizerSessions()).length,
        transactions: sim.ledger.snapshot.transactions.length,
        faults: sim.faults.size,
      });
    }
    if (path === '/faults') {
      if (method === 'GET') return send(res, 200, sim.faults.list());
      if (method === 'POST') {
        const body = await readBody(req);
        const list = Array.isArray(body) ? body : [body];
        const added = [];
        try {
          for (const [i, r] of list.entries()) {
            try {
              added.push(sim.faults.add(r as never));
            } catch (err) {
              if (err instanceof FaultError && Array.isArray(body))
                throw new FaultError(err.message.replace(/^[^:]*: /, ''), err.path.replace(/^\$/, `$[${i}]`));
              throw err;
            }
          }
        } catch (err) {
          for (const a of added) sim.faults.remove(a.id);
          if (err instanceof FaultError) throw new HttpError(400, 'bad_fault', err.message);
          throw err;
        }
        log.info(
          { faults: added.map((a) => ({ id: a.id, action: a.action, match: a.match })) },
          'fault rules added',
        );
        return send(res, 201, Array.isArray(body) ? added : added[0]);
      }
      if (method === 'DELETE') {
        sim.faults.clear();
        log.info('fault rules cleared');
        return send(res, 204);
      }
      throw new HttpError(405, 'method_not_allowed', `${method} ${path}`);
    }
    const one = /^\/faults\/([^/]+)$/.exec(path);
    if (one) {
      if (method !== 'DELETE') throw new HttpError(405, 'method_not_allowed', `${method} ${path}`);
      const id = decodeURIComponent(one[1]!);
      if (!sim.faults.remove(id)) throw new HttpError(404, 'not_found', `no fault rule ${id}`);
      log.info({ id }, 'fault rule removed');
      return send(res, 204);
    }
    if (method === 'GET' && path === '/ledger') return send(res, 200, ledgerView(sim));
    if (method === 'GET' && path === '/transactions') {
      const filter: { tid?: string; stan?: string; batch?: string; rrn?: string } = {};
      for (const k of ['tid', 'stan', 'batch', 'rrn'] as const) {
        const v = q(k);
        if (v !== undefined) filter[k] = v;
      }
      return send(
        res,
        200,
        sim.ledger.transactions(filter).map((t) => ({ ...t, status: Ledger.status(t) })),
      );
    }
    if (method === 'GET' && path === '/settlement-file') {
      const filter: { tid?: string; batch?: string } = {};
      const tid = q('tid');
      const batch = q('batch');
      if (tid !== undefined) filter.tid = tid;
      if (batch !== undefined) {
        if (!/^[0-9]{6}$/.test(batch)) throw new HttpError(400, 'bad_batch', 'batch must be 6 digits');
        filter.batch = batch;
      }
      const { path: file, csv } = await sim.writeSettlementFile(filter);
      res.setHeader('x-settlement-file', file);
      return send(res, 200, csv, 'text/csv');
    }
    if (method === 'POST' && path === '/reset') {
      sim.reset();
      await sim.ledger.persist();
      return send(res, 204);
    }
    if (method === 'GET' && path === '/dukpt') return send(res, 200, { devices: sim.dukptDevices() });
    if (method === 'GET' && path === '/cards') {
      return send(
        res,
        200,
        sim.cards.cards.map((c) => {
          const a = sim.ledger.account(c.account);
          return { ...publicCardView(c), balance: a?.balance, available: a ? a.balance - a.held : undefined };
        }),
      );
    }
    if (path === '/terminal-params') {
      if (method === 'GET')
        return send(res, 200, {
          ...sim.params.params,
          pending: sim.params.pending,
          served: sim.params.served,
        });
      if (method === 'PUT') {
        try {
          sim.params.replace((await readBody(req)) as never);
        } catch (err) {
          throw new HttpError(400, 'bad_terminal_params', (err as Error).message);
        }
        log.info(
          { capks: sim.params.params.capks.length, aids: sim.params.params.aids.length },
          'terminal parameters replaced',
        );
        return send(res, 200, sim.params.params);
      }
      throw new HttpError(405, 'method_not_allowed', `${method} ${path}`);
    }
    if (path === '/terminal-params/download-again') {
      if (method !== 'POST') throw new HttpError(405, 'method_not_allowed', `${method} ${path}`);
      const body = (await readBody(req)) as { kind?: unknown } | null;
      const kind = body?.kind;
      if (kind !== 'capk' && kind !== 'aid')
        throw new HttpError(400, 'bad_kind', 'kind must be "capk" or "aid"');
      sim.params.requestDownload(kind);
      log.info({ kind }, 'terminals asked to download again');
      return send(res, 202, { pending: sim.params.pending });
    }
    if (
      ['/health', '/ledger', '/transactions', '/settlement-file', '/reset', '/cards', '/dukpt'].includes(path)
    )
      throw new HttpError(405, 'method_not_allowed', `${method} ${path}`);
    throw new HttpError(404, 'not_found', `no route ${method} ${path}`);
  }

  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      if (err instanceof HttpError)
        return send(res, err.status, { error: { code: err.code, message: err.message } });
      log.error({ err }, 'control API error');
      send(res, 500, { error: { code: 'internal', message: 'internal error' } });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
