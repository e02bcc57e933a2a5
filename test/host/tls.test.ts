import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SoftwareSecurityModule } from '../../src/crypto/index.js';
import { HostLink, MemoryCounterStore, type LinkStateEvent } from '../../src/host/index.js';
import { loadDialect } from '../../src/iso8583/index.js';
import { FakeHost, TMK } from './fake-host.js';

// A TLS terminator in front of the fake host, with a certificate made on the spot by openssl.
const hasOpenssl = ['/usr/bin/openssl', '/usr/local/bin/openssl'].some((p) => existsSync(p));

describe.runIf(hasOpenssl)('host link over TLS', () => {
  let host: FakeHost;
  let server: tls.Server;
  let port = 0;
  let dir = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pb-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=acquirer.test',
        '-addext',
        'subjectAltName=DNS:acquirer.test',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    host = new FakeHost();
    await host.start();
    server = tls.createServer(
      { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
      (s) => {
        const upstream = net.connect(host.port, '127.0.0.1');
        s.pipe(upstream).pipe(s);
        s.on('error', () => upstream.destroy());
        upstream.on('error', () => s.destroy());
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await host.stop();
  });

  const link = (servername: string) =>
    new HostLink({
      host: '127.0.0.1',
      port,
      tls: { caFile: join(dir, 'cert.pem'), servername },
      dialect: loadDialect('cup-pos'),
      terminalId: 'SIM00001',
      merchantId: '898310048160001',
      securityModule: new SoftwareSecurityModule(TMK, { macAlgorithm: 'cup-ecb' }),
      keyLayout: 'double',
      counters: new MemoryCounterStore(),
      timers: { connectMs: 2000, responseMs: 1000, idleEchoMs: 0, backoffInitialMs: 50, backoffMaxMs: 200 },
    });

  it('connects and signs on when the certificate matches the configured CA and name', async () => {
    const l = link('acquirer.test');
    l.start();
    await l.whenReady(3000);
    expect(host.signOns).toBeGreaterThan(0);
    await l.close();
  });

  it('refuses a certificate for another name', async () => {
    const l = link('other.test');
    const states: LinkStateEvent[] = [];
    l.on('state', (e: LinkStateEvent) => states.push(e));
    l.start();
    await new Promise((r) => setTimeout(r, 400));
    expect(l.state).not.toBe('ready');
    expect(states.some((s) => s.state === 'down')).toBe(true);
    await l.close();
  });
});
