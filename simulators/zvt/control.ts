/**
 * The ZVT simulator's control API: loopback HTTP + JSON, in the style of the reader simulator's.
 *
 *   GET  /health        terminal id, connected, registered, config byte, ports
 *   GET  /behaviour     the current behaviour
 *   POST /behaviour     merge a partial behaviour (validated; an unknown key is a 400 naming it)
 *   POST /reset         default behaviour, empty ledger, not registered -> 204
 *   POST /drop          close the ECR connection now -> 204
 *   GET  /transactions  the ledger (masked PANs only)
 *   GET  /printed       receipts the terminal printed itself
 *
 * Errors: `{ "error": { "code": "...", "message": "..." } }` with 400, 404 or 405.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { HttpError, readJsonBody, send } from '../shared/control-http.js';
import { ZvtBehaviourError } from './behaviour.js';
import type { ZvtTerminalSimulator } from './terminal.js';

export interface ZvtControlApi {
  port: number;
  close(): Promise<void>;
}

export async function startZvtControlApi(
  port: number,
  host: string,
  ctx: { sim: ZvtTerminalSimulator; log: Logger | undefined; ports: () => Record<string, unknown> },
): Promise<ZvtControlApi> {
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
          terminalId: sim.terminalId,
          connected: sim.connected,
          registered: sim.registered,
          configByte: sim.configByte.toString(16).toUpperCase().padStart(2, '0'),
          ...ctx.ports(),
        });
      case '/behaviour':
        if (method === 'GET') return send(res, 200, sim.behaviour);
        if (method === 'POST' || method === 'PATCH' || method === 'PUT') {
          const body = await readJsonBody(req, 65536);
          try {
            return send(res, 200, sim.setBehaviour(body ?? {}));
          } catch (e) {
            if (e instanceof ZvtBehaviourError) throw new HttpError(400, 'bad_behaviour', e.message);
            throw e;
          }
        }
        throw new HttpError(405, 'method_not_allowed', '/behaviour takes GET or POST');
      case '/reset':
        only('POST');
        sim.reset();
        return send(res, 204);
      case '/drop':
        only('POST');
        await sim.dropConnection();
        return send(res, 204);
      case '/transactions':
        only('GET');
        return send(res, 200, sim.transactions());
      case '/printed':
        only('GET');
        return send(res, 200, sim.printed);
      default:
        throw new HttpError(404, 'not_found', `no ${path}`);
    }
  }

  const server = createServer((req, res) => {
    route(req, res).catch((e: unknown) => {
      if (e instanceof HttpError) return send(res, e.status, { error: { code: e.code, message: e.message } });
      ctx.log?.error({ err: e }, 'ZVT control API failed');
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
