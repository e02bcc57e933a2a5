/** Small HTTP plumbing for the hub's routes: bodies with a limit, JSON answers, typed errors. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HubError } from './errors.js';

export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new HubError('too_large', `body: at most ${limit} bytes`, 'body');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > limit) throw new HubError('too_large', `body: at most ${limit} bytes`, 'body');
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

export async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const body = await readBody(req, limit);
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw new HubError('bad_request', `body: expected JSON (${(e as Error).message})`, 'body');
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, e: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (e instanceof HubError) {
    const extra = (e as HubError & { ackedSeq?: number }).ackedSeq;
    const body = e.toBody();
    sendJson(res, e.status, extra === undefined ? body : { ...body, ackedSeq: extra }, e.code === 'busy' ? { 'retry-after': '1' } : {});
    return;
  }
  sendJson(res, 500, { error: { code: 'internal', message: 'internal error (see the hub log)' } });
}
