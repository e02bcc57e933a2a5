/**
 * `GET /api/stream`: the dashboard's live updates as Server-Sent Events. Stateless like the rest of
 * the hub: each connection reads the fleet from the database every `pollMs` and pushes the sections
 * whose HTML changed (all of them first), so any hub instance can serve any browser and nothing is
 * shared between connections. The session is checked again every 30 s; a logged-out or deleted user
 * gets a `logout` event and the stream ends.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { whoIs } from '../auth.js';
import type { HubContext } from '../server.js';
import { renderSections } from './render.js';
import { fleetSnapshot, type ResolvedOptions } from './snapshot.js';

const AUTH_RECHECK_MS = 30_000;
const HEARTBEAT_MS = 15_000;

export function fleetStream(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: HubContext,
  opts: ResolvedOptions,
): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-accel-buffering': 'no', // a reverse proxy must not buffer the stream
    connection: 'keep-alive',
  });
  res.write('retry: 2000\n\n');
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let last: Record<string, string> = {};
  let authAt = Date.now();
  let wroteAt = Date.now();
  let failing = false;
  const stop = () => {
    closed = true;
    clearTimeout(timer);
  };
  req.on('close', stop);
  res.on('close', stop);

  const send = (event: string, data: unknown) => {
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    wroteAt = Date.now();
  };

  const tick = async () => {
    if (closed) return;
    try {
      if (Date.now() - authAt >= AUTH_RECHECK_MS) {
        if (!(await whoIs(ctx.db, req))) {
          if (!closed) send('logout', {});
          res.end();
          stop();
          return;
        }
        authAt = Date.now();
      }
      const snap = await fleetSnapshot(ctx.db, opts);
      if (closed) return;
      const sections: Record<string, string> = renderSections(snap);
      const changed: Record<string, string> = {};
      for (const [k, v] of Object.entries(sections)) if (last[k] !== v) changed[k] = v;
      last = sections;
      if (Object.keys(changed).length > 0)
        send('snapshot', { at: snap.at, summary: snap.summary, sections: changed });
      else if (Date.now() - wroteAt >= HEARTBEAT_MS) {
        res.write(': ping\n\n');
        wroteAt = Date.now();
      }
      failing = false;
    } catch (e) {
      // The database went away for a moment (or the hub is closing): say so once, keep trying.
      if (!failing && !closed)
        ctx.log?.warn({ err: (e as Error).message }, 'dashboard stream: reading the fleet failed');
      failing = true;
    }
    if (!closed) timer = setTimeout(() => void tick(), opts.pollMs);
  };
  void tick();
}
