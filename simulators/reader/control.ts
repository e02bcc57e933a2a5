/**
 * The reader simulator's control API: loopback HTTP + JSON (node:http), for QA, tests and the demo.
 *
 *   GET  /health       serial number, profile, connected, ports
 *   GET  /behaviour    the current behaviour
 *   POST /behaviour    merge a partial behaviour (validated) -> the whole behaviour
 *   POST /reset        default behaviour, no transactions (keys kept) -> 204
 *   POST /drop         drop the link now, body { "ms": 400 } optional -> 204
 *   POST /clear-keys   forget the working keys (a reader that restarted) -> 204
 *   GET  /parameters   the CAPK and AID sets it holds (digests, RID/index, AIDs)
 *   POST /clear-parameters forget them (a reader reset to factory state) -> 204
 *   GET  /status       current transaction, key check values, display, printed lines, beeps, link counters
 *   GET  /transactions the transactions (masked PAN only)
 *   GET  /cards        the test cards (masked PAN)
 *
 * Errors: `{ "error": { "code": "...", "message": "..." } }` with 400, 404 or 405. Nothing here
 * shows a clear PAN, track, PIN or key.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { publicCardView } from '../shared/cards.js';
import { BehaviourError } from './behaviour.js';
import type { ReaderSimulator } from './simulator.js';
import { HttpError, readJsonBody, send } from '../shared/control-http.js';

export interface ReaderControlApi {
  port: number;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return readJsonBody(req, 65536);
}

export interface ControlContext {
  sim: ReaderSimulator;
  log: Logger | undefined;
  ports: () => Record<string, unknown>;
}

export async function startReaderControlApi(
  port: number,
  host: string,
  ctx: ControlContext,
): Promise<ReaderControlApi> {
  const { sim } = ctx;
  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    const only = (m: string): void => {
      if (method !== m) throw new HttpError(405, 'method_not_allowed', `${path} takes ${m}`);
    };
    switch (path) {
      case '/health':
        only('GET');
        return send(res, 200, {
          ok: true,
          serialNumber: sim.serialNumber,
          model: sim.model,
          profile: sim.profile.name,
          connected: sim.connected,
          ...ctx.ports(),
        });
      case '/behaviour':
        if (method === 'GET') return send(res, 200, sim.behaviour);
        if (method === 'POST' || method === 'PATCH' || method === 'PUT') {
          const body = await readBody(req);
          try {
            return send(res, 200, sim.setBehaviour(body ?? {}));
          } catch (e) {
            if (e instanceof BehaviourError) throw new HttpError(400, 'bad_behaviour', e.message);
            throw e;
          }
        }
        throw new HttpError(405, 'method_not_allowed', '/behaviour takes GET or POST');
      case '/reset':
        only('POST');
        sim.reset();
        return send(res, 204);
      case '/drop': {
        only('POST');
        const body = (await readBody(req)) as { ms?: unknown } | undefined;
        const ms = body?.ms;
        if (ms !== undefined && (!Number.isInteger(ms) || (ms as number) < 0))
          throw new HttpError(400, 'bad_request', 'ms must be a non-negative integer');
        sim.dropLink(ms as number | undefined);
        return send(res, 204);
      }
      case '/clear-keys':
        only('POST');
        sim.clearKeys();
        return send(res, 204);
      case '/parameters':
        only('GET');
        return send(res, 200, sim.parameters);
      case '/clear-parameters':
        only('POST');
        sim.clearParameters();
        return send(res, 204);
      case '/status':
        only('GET');
        return send(res, 200, {
          connected: sim.connected,
          transaction: sim.currentTransaction() ?? null,
          keyCheckValues: sim.keyCheckValues,
          display: sim.display,
          printed: sim.printed,
          beeps: sim.beeps,
          battery: sim.behaviour.batteryPercent,
          link: sim.linkStats ?? null,
          // The last offline data authentication (method, result, why it failed).
          lastOda: sim.lastOda ?? null,
          // A DUKPT PIN pad's current KSN (not secret: it travels in clear in field 53).
          dukpt: sim.pinPad
            ? {
                scheme: sim.pinPad.scheme,
                ksn: sim.pinPad.ksn.toString('hex').toUpperCase(),
                counter: sim.pinPad.counter,
              }
            : null,
        });
      case '/transactions':
        only('GET');
        return send(res, 200, sim.transactions());
      case '/cards':
        only('GET');
        return send(
          res,
          200,
          sim.cards.cards.map((c) => publicCardView(c)),
        );
      default:
        throw new HttpError(404, 'not_found', `no ${path}`);
    }
  }

  const server = createServer((req, res) => {
    route(req, res).catch((e: unknown) => {
      if (e instanceof HttpError) return send(res, e.status, { error: { code: e.code, message: e.message } });
      ctx.log?.error({ err: e }, 'control API failed');
      send(res, 500, { error: { code: 'internal', message: 'internal error' } });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
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
