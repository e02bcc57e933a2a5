import http from 'node:http';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type Demo } from '../../simulators/demo.js';

// The demo CRM page's routes (the page itself runs in the browser suite, npm run test:e2e).
let demo: Demo;

beforeAll(async () => {
  demo = await startDemo({
    stateDir: mkdtempSync(join(tmpdir(), 'pb-demo-page-')),
    port: 0,
    customerDelayMs: 0,
    logLevel: 'silent',
  });
});
afterAll(async () => {
  await demo?.stop();
});

function get(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: demo.port, path, headers: { host: `127.0.0.1:${demo.port}`, ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('the demo CRM page routes', () => {
  it('serves the page, its script and styles with a same-origin CSP', async () => {
    const page = await get('/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.headers['content-security-policy']).toContain("connect-src 'self'");
    expect(page.body).toContain('<script type="module" src="/crm/app.js">');
    expect((await get('/crm/app.js')).headers['content-type']).toMatch(/javascript/);
    expect((await get('/crm/style.css')).status).toBe(200);
    expect((await get('/crm/routes.ts')).status).toBe(404);
    expect((await get('/crm/..%2Fdemo.ts')).status).toBe(404);
    expect((await get('/client/..%2F..%2Fserver.js')).status).toBe(404);
    if (
      existsSync(
        join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'src', 'api', 'client', 'index.js'),
      )
    )
      expect((await get('/client/index.js')).body).toContain('class PosbridgeClient');
  });

  it('gives the token to the page only: loopback, its own Host and Origin, same-origin fetches', async () => {
    const own = await get('/demo/token', { 'sec-fetch-site': 'same-origin' });
    expect(own.status).toBe(200);
    expect(own.headers['cache-control']).toBe('no-store');
    expect(JSON.parse(own.body)).toMatchObject({ token: demo.daemon.token });
    expect((await get('/demo/token', { origin: `http://127.0.0.1:${demo.port}` })).status).toBe(200);
    expect((await get('/demo/token', { host: `localhost:${demo.port}` })).status).toBe(200);

    const refused: Record<string, string>[] = [
      { origin: 'https://crm.example.com' },
      { origin: 'null' },
      { origin: `http://127.0.0.1:${demo.port + 1}` },
      { host: 'attacker.example' }, // DNS rebinding: a hostile name resolving to 127.0.0.1
      { host: `127.0.0.1:${demo.port + 1}` },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
    ];
    for (const headers of refused) {
      const r = await get('/demo/token', headers);
      expect(r.status, JSON.stringify(headers)).toBe(403);
      expect(r.body).not.toContain(demo.daemon.token);
    }
  });
});
