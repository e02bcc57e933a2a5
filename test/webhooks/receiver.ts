/**
 * A small CRM backend for the webhook tests: verifies every request's signature over the raw body,
 * records it, and answers as told (`up`: 200, `down`: 503, `hold`: never answers, so the sender can be
 * killed after the backend has the body but before it learns of the 2xx).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ID_HEADER, SIGNATURE_HEADER, verifyWebhookSignature } from '../../src/api/webhooks.js';

export interface Received {
  id: string;
  attempt: number;
  topic: string;
  verified: boolean;
  body: string;
  json: { id: string; topic: string; createdAt: string; data: Record<string, unknown> };
  /** What the receiver answered: 200, 503, or 0 (held, never answered). */
  answered: number;
}

export type ReceiverMode = 'up' | 'down' | 'hold';

export interface Receiver {
  url: string;
  mode: ReceiverMode;
  received: Received[];
  /** Resolves once `predicate` holds for what was received (checked on every request). */
  until(predicate: (r: Received[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(secret: string, mode: ReceiverMode = 'up'): Promise<Receiver> {
  const waiters = new Set<() => void>();
  const held: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const verified = verifyWebhookSignature({
        secret,
        header: req.headers[SIGNATURE_HEADER] as string | undefined,
        body,
      });
      const m = receiver.mode;
      const answered = !verified ? 401 : m === 'up' ? 200 : m === 'down' ? 503 : 0;
      receiver.received.push({
        id: String(req.headers[ID_HEADER]),
        attempt: Number(req.headers['posbridge-attempt']),
        topic: String(req.headers['posbridge-topic']),
        verified,
        body,
        json: JSON.parse(body) as Received['json'],
        answered,
      });
      if (answered) res.writeHead(answered, { 'content-type': 'text/plain' }).end(String(answered));
      else held.push(res);
      for (const w of [...waiters]) w();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const receiver: Receiver = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/posbridge`,
    mode,
    received: [],
    until(predicate, timeoutMs = 20_000) {
      return new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (!predicate(receiver.received)) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `receiver: condition not met in ${timeoutMs} ms (${receiver.received.length} requests)`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async close() {
      for (const r of held) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return receiver;
}
