import { timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import type { ReconcileQrParams } from '../engine/index.js';
import { ZvtTerminal } from '../terminal/zvt/index.js';
import type { Daemon, Route } from './daemon-types.js';
import { runZvtChecks } from './doctor-zvt.js';

const json = (res: http.ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text.trim() ? (JSON.parse(text) as unknown) : {};
}

/** An admin request: loopback Host and the token file's token, else answered 401 here. */
export function adminGuard(req: http.IncomingMessage, res: http.ServerResponse, d: Daemon): boolean {
  const host = String(req.headers.host ?? '').replace(/:\d+$/, '');
  const auth = String(req.headers.authorization ?? '');
  const token = auth.startsWith('Bearer ') ? Buffer.from(auth.slice(7)) : Buffer.alloc(0);
  const want = Buffer.from(d.token);
  const ok =
    ['127.0.0.1', 'localhost', '[::1]'].includes(host) &&
    token.length === want.length &&
    timingSafeEqual(token, want);
  if (!ok)
    res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'unauthorized' }));
  return ok;
}

/** Loopback admin routes for the CLI (`posbridge recover`, `journal`, ...): the token file's token required. */
export function adminRoutes(): Route[] {
  return [
    {
      method: 'POST',
      path: '/admin/recover',
      async handler(req, res, d) {
        if (!adminGuard(req, res, d)) return;
        json(res, 200, await d.engine.recover());
      },
    },
    {
      method: 'GET',
      path: '/admin/operations',
      handler(req, res, d) {
        if (!adminGuard(req, res, d)) return;
        const limit = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('limit') ?? 50);
        json(res, 200, d.engine.recent(Number.isInteger(limit) && limit > 0 ? limit : 50));
      },
    },
    {
      method: 'POST',
      path: '/admin/settle',
      async handler(req, res, d) {
        if (!adminGuard(req, res, d)) return;
        const body = (await readJson(req)) as { operatorId?: string };
        try {
          json(
            res,
            200,
            await d.settlement.settle({ operatorId: body.operatorId ?? d.config.defaultOperatorId }),
          );
        } catch (e) {
          json(res, 409, {
            error: { code: (e as { code?: string }).code ?? 'internal_error', message: (e as Error).message },
          });
        }
      },
    },
    {
      // `posbridge params --download`: terminal management over the daemon's own host link.
      method: 'POST',
      path: '/admin/params/download',
      async handler(req, res, d) {
        if (!adminGuard(req, res, d)) return;
        const body = (await readJson(req)) as { kinds?: unknown };
        const kinds = Array.isArray(body.kinds)
          ? body.kinds.filter((k): k is 'capk' | 'aid' => k === 'capk' || k === 'aid')
          : undefined;
        if (!d.terminalManager.supported) {
          json(res, 409, {
            error: {
              code: 'not_supported',
              message: `dialect ${d.config.host.dialect} has no terminal management`,
            },
          });
          return;
        }
        if (d.host.state !== 'ready') {
          json(res, 409, { error: { code: 'host_not_ready', message: `the host link is ${d.host.state}` } });
          return;
        }
        json(res, 200, {
          results: await d.terminalManager.download(kinds?.length ? kinds : undefined, 'on_demand'),
        });
      },
    },
    {
      // `posbridge doctor` with a daemon running: the ZVT checks over the daemon's own connection (a
      // terminal serves one cash register at a time, so doctor must not open a second one).
      method: 'POST',
      path: '/admin/terminal/check',
      async handler(req, res, d) {
        if (!adminGuard(req, res, d)) return;
        const t = d.integrated;
        if (!(t instanceof ZvtTerminal)) return json(res, 200, { kind: t?.kind ?? 'reader', checks: [] });
        const body = (await readJson(req)) as { skipDiagnosis?: boolean };
        json(res, 200, {
          kind: t.kind,
          checks: await runZvtChecks(t, {
            waitMs: 3000,
            inFlight: d.engine.inFlight().length,
            ...(body.skipDiagnosis ? { skipDiagnosis: true } : {}),
          }),
        });
      },
    },
    {
      method: 'POST',
      path: '/admin/reconcile',
      async handler(req, res, d) {
        if (!adminGuard(req, res, d)) return;
        // `{ file }`: a host settlement file; `{ qr, date }`: a scan-to-pay provider's bill of a China date.
        const body = (await readJson(req)) as { file?: string; qr?: string; date?: string };
        if (!body.file === !body.qr)
          return json(res, 400, {
            error: { code: 'invalid_request', message: 'give file, or qr (alipay | wechat) and date' },
          });
        try {
          json(
            res,
            200,
            body.qr
              ? await d.settlement.reconcileQr({
                  provider: body.qr as ReconcileQrParams['provider'],
                  date: body.date ?? '',
                })
              : await d.settlement.reconcileFile({ file: body.file! }),
          );
        } catch (e) {
          const code = (e as { code?: string }).code ?? 'internal_error';
          json(res, code === 'invalid_request' ? 400 : 409, {
            error: { code, message: (e as Error).message },
          });
        }
      },
    },
  ];
}

/**
 * Admin routes for `posbridge pair` and `posbridge tokens` (loopback, the token file's token; never from
 * a browser: a request with an Origin is refused). The code is also shown on the reader's display when
 * the reader is idle.
 */
export function pairingRoutes(): Route[] {
  const allowed = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    d: Parameters<Route['handler']>[2],
  ): boolean => {
    if (req.headers.origin !== undefined) {
      json(res, 403, { error: 'forbidden' });
      return false;
    }
    return adminGuard(req, res, d);
  };
  return [
    {
      method: 'POST',
      path: '/admin/pair',
      handler(req, res, d) {
        if (!allowed(req, res, d)) return;
        const issued = d.pairing.issueCode();
        if (d.reader.state === 'idle')
          void d.reader
            .displayText(['Pairing code', `${issued.code.slice(0, 3)} ${issued.code.slice(3)}`])
            .catch(() => undefined);
        d.logger.info({ expiresAt: issued.expiresAt }, 'pairing code issued');
        json(res, 200, issued);
      },
    },
    {
      method: 'GET',
      path: '/admin/tokens',
      handler(req, res, d) {
        if (!allowed(req, res, d)) return;
        json(res, 200, { tokens: d.pairing.list() });
      },
    },
    {
      method: 'DELETE',
      path: '/admin/tokens/*',
      handler(req, res, d) {
        if (!allowed(req, res, d)) return;
        const id = decodeURIComponent((req.url ?? '').split('?')[0]!.slice('/admin/tokens/'.length));
        const closed = d.pairing.revoke(id);
        if (closed === undefined) return json(res, 404, { error: 'not_found' });
        d.logger.info({ tokenId: id, sessionsClosed: closed }, 'paired token revoked');
        json(res, 200, { revoked: id, sessionsClosed: closed });
      },
    },
  ];
}
