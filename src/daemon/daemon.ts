import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino, { type Logger, type LoggerOptions } from 'pino';
import { cardLogOptions, loadOrCreateFingerprintKey } from '../card/index.js';
import {
  KeyEncryptionKey,
  Sealer,
  SoftwareSecurityModule,
  type KeyScheme,
  type SecurityModule,
} from '../crypto/index.js';
import { Engine, SettlementService } from '../engine/index.js';
import { HostLink, TerminalManager } from '../host/index.js';
import { wireReaderParameters } from './reader-params.js';
import { loadDialect } from '../iso8583/index.js';
import { Journal } from '../journal/index.js';
import { createCardReader, type ReaderConfig } from '../terminal/index.js';
import type { IntegratedTerminal } from '../terminal/integrated.js';
import { NoReader } from '../terminal/no-reader.js';
import type { CardReader } from '../terminal/reader.js';
import { ZvtTerminal } from '../terminal/zvt/index.js';
import type { QrMethod, QrProvider } from '../qr/index.js';
import type { QrTimers } from '../engine/qr-flow.js';
import { qrProvidersFromConfig } from './qr-providers.js';
import type { DaemonConfig } from './config.js';
import type { ApiServer } from '../api/index.js';
import { WebhookDelivery, type WebhookTimers } from '../api/webhooks.js';
import type { HubLinkTimers } from '../api/index.js';
import { createHubLink } from './hub-wiring.js';
import { terminalsBackend } from './api-wiring.js';
import { adminRoutes, pairingRoutes } from './admin-routes.js';
import { qrNotifyRoutes } from './qr-notify-routes.js';
import { attachApi } from './api-wiring.js';
import { metricsText } from './metrics.js';
import { Pairing } from './pairing.js';
import type { Daemon, RecoveryResult, Route } from './daemon-types.js';
import { ensureStateDir, loadOrCreateToken } from './state-dir.js';

export interface DaemonOptions {
  config: DaemonConfig;
  routes?: Route[];
  logger?: Logger;
  /** Where pino writes when no logger is given (default stderr). */
  logDestination?: pino.DestinationStream;
  /** Replace the reader (tests, the instant reader of benchmarks). */
  reader?: CardReader & { start?: () => void };
  /** Replace the integrated terminal `config.zvt` describes (tests). */
  integrated?: IntegratedTerminal;
  /** Replace the scan-to-pay providers `config.qr` describes (the demo, tests). */
  qr?: Partial<Record<QrMethod, QrProvider>>;
  /** Scan-to-pay timers beyond the configuration's (tests and the chaos runner run them short). */
  qrTimers?: Partial<QrTimers>;
  /** Extra engine settings (tests run timers short). */
  engineConfig?: Partial<ConstructorParameters<typeof Engine>[0]['config']>;
  /** Extra origins for the WebSocket API (the demo adds its own page's), given the bound port. */
  extraOrigins?: (port: number) => string[];
  /** Replaces the daemon's own pairing (`daemon.pairing`) as the `session.pair` hook. */
  pair?: (code: string, origin: string | undefined) => Promise<string | undefined>;
  /** Result webhook timers (tests run them short); the URL and secret are `config.webhook`. */
  webhookTimers?: Partial<WebhookTimers>;
  /** Fleet hub link timers (tests run them short); enrolment is `<stateDir>/hub.json`. */
  hubLinkTimers?: Partial<HubLinkTimers>;
}

export type { Daemon, RecoveryResult, Route } from './daemon-types.js';

/** The composition root: journal, keys, reader, host link, engine, HTTP server. */
export async function createDaemon(options: DaemonOptions): Promise<Daemon> {
  const { config } = options;
  ensureStateDir(config.stateDir);
  const logger =
    options.logger ??
    pino(
      {
        ...(cardLogOptions() as unknown as LoggerOptions),
        level: config.logLevel,
        base: { name: 'posbridge' },
      },
      options.logDestination ?? pino.destination({ fd: 2, sync: false }),
    );
  // The data-encrypting keys in the state directory open only under the KEK kept outside it.
  const kek = await KeyEncryptionKey.load(config.keyStore, { stateDir: config.stateDir });
  const journal = Journal.open({ dir: config.stateDir, sealer: await Sealer.load(config.stateDir, { kek }) });
  try {
    const { key: fingerprintKey } = await loadOrCreateFingerprintKey(config.stateDir, { protector: kek });
    const token = loadOrCreateToken(config.stateDir);
    const dialect = loadDialect(config.host.dialect);
    // A reader holds the acquirer's keys: it is told their cipher (cup-pos-sm4: SM4) and refused if it lacks it.
    const keyScheme = dialect.spec.exchanges?.signOn?.keyScheme ?? 'des';
    const reader =
      options.reader ?? (config.readers.length ? makeReader(config, logger, keyScheme) : new NoReader());
    const integrated = options.integrated ?? (config.zvt ? makeZvt(config, logger) : undefined);
    const qr = options.qr ?? qrProvidersFromConfig(config.qr, logger);
    const securityModule: SecurityModule =
      config.host.security === 'software'
        ? new SoftwareSecurityModule(
            Buffer.from(readFileSync(config.host.masterKeyFile!, 'utf8').trim(), 'hex'),
            // The dialect's sign-on says which cipher its keys use (cup-pos-sm4: SM4).
            {
              macAlgorithm: config.host.macAlgorithm,
              keyScheme,
            },
          )
        : reader.securityModule;
    const host = new HostLink({
      host: config.host.address,
      port: config.host.port,
      ...(config.host.tls ? { tls: config.host.tls } : {}),
      dialect,
      ...(config.host.framing ? { framing: config.host.framing } : {}),
      terminalId: config.terminalId,
      merchantId: config.merchantId,
      securityModule,
      keyLayout: config.host.keyLayout,
      counters: journal,
      timers: {
        ...(config.timers.hostConnectMs ? { connectMs: config.timers.hostConnectMs } : {}),
        ...(config.timers.hostResponseMs ? { responseMs: config.timers.hostResponseMs } : {}),
        ...(config.timers.hostIdleEchoMs !== undefined ? { idleEchoMs: config.timers.hostIdleEchoMs } : {}),
      },
      logger,
    });
    // CAPK and IC parameter download (docs/terminal-management.md): when a set is missing once the link
    // is ready, when a response header asks, and on demand (`posbridge params --download`).
    const terminalManager = new TerminalManager({ host, dialect, store: journal, logger });
    // ...and on to the reader: the active sets now, each new version when stored.
    const readerParams = wireReaderParameters({ reader, terminalManager, journal, logger });
    const engine = new Engine({
      journal,
      host,
      reader,
      ...(integrated ? { integrated } : {}),
      qr,
      qrTimers: {
        ...(config.qr?.expirySeconds ? { expirySeconds: config.qr.expirySeconds } : {}),
        ...(config.qr?.pollMs ? { pollMs: config.qr.pollMs } : {}),
        ...options.qrTimers,
      },
      dialect,
      fingerprintKey,
      logger,
      // A chip card waits for a running CAPK/AID download and its push to the reader (bounded).
      beforeCardRead: () => readerParams.ready(),
      config: {
        terminalId: config.terminalId,
        merchantId: config.merchantId,
        ...(config.merchantName ? { merchantName: config.merchantName } : {}),
        currency: config.currency,
        ...(config.timers.cardTimeoutSeconds ? { cardTimeoutSeconds: config.timers.cardTimeoutSeconds } : {}),
        ...(config.supervisor?.threshold !== undefined
          ? { supervisorThreshold: config.supervisor.threshold }
          : {}),
        ...(config.supervisor?.codes ? { supervisorCodes: config.supervisor.codes } : {}),
        saf: {
          ...(config.timers.safPollMs ? { pollMs: config.timers.safPollMs } : {}),
          ...(config.timers.reversalBackoffInitialMs
            ? { backoffInitialMs: config.timers.reversalBackoffInitialMs }
            : {}),
          ...(config.timers.reversalBackoffMaxMs ? { backoffMaxMs: config.timers.reversalBackoffMaxMs } : {}),
        },
        ...options.engineConfig,
      },
    });
    const settlement = new SettlementService({
      journal,
      host,
      terminalId: config.terminalId,
      merchantId: config.merchantId,
      currency: config.currency,
      saf: engine.saf,
      // Settlement journals durable events too: forward them as the engine's own (gap-free seq).
      onEvent: (e) => engine.emit('event', { kind: 'durable', ...e }),
      // The engine's scan-to-pay providers: their bills are reconciled against the journal.
      qr,
      logger,
    });
    const pairing = new Pairing({ dir: config.stateDir });
    const routes = [...adminRoutes(), ...pairingRoutes(), ...qrNotifyRoutes(), ...(options.routes ?? [])];
    let api: ApiServer | undefined;
    // Revoking a paired token closes the sessions that use it.
    pairing.onRevoke((id) => api?.revokeToken(id) ?? 0);
    // Result webhooks from the journal's outbox, at least once (docs/webhooks.md).
    const webhooks = config.webhook
      ? new WebhookDelivery({
          ...config.webhook,
          ...options.webhookTimers,
          outbox: journal,
          idPrefix: config.terminalId,
          logger: logger.child({ component: 'webhooks' }),
        })
      : undefined;
    if (webhooks) engine.on('event', (e: { kind: string }) => e.kind === 'durable' && webhooks.kick());
    // The fleet hub, when this daemon is enrolled (docs/fleet.md): the journal is the outbox.
    let hubLink: ReturnType<typeof createHubLink>;
    const openHubLink = (): boolean => {
      if (hubLink) return true;
      hubLink = createHubLink(
        { config, engine, journal, logger },
        () => terminalsBackend({ config, reader, integrated }).list(),
        options.hubLinkTimers,
      );
      if (!hubLink) return false;
      const link = hubLink;
      engine.on('event', (e: { kind: string }) => e.kind === 'durable' && link.kick());
      return true;
    };
    openHubLink();
    const started = Date.now();
    let recovering = true;
    let stopping = false;
    let resolveRecovered!: (r: RecoveryResult | undefined) => void;
    const recovered = new Promise<RecoveryResult | undefined>((r) => (resolveRecovered = r));
    // Reader reconnects: every time it comes up again after having been up once.
    let readerReconnects = 0;
    let readerSeen = false;
    let readerUp = false;
    reader.on('state', (e) => {
      const up = e.state === 'idle' || e.state === 'busy';
      if (up && !readerUp) {
        if (readerSeen) readerReconnects++;
        readerSeen = true;
      }
      readerUp = up;
    });
    const daemon: Daemon = {
      config,
      logger,
      journal,
      engine,
      host,
      terminalManager,
      reader,
      integrated,
      token,
      pairing,
      settlement,
      port: 0,
      server: http.createServer((req, res) => void handle(req, res)),
      connectHub() {
        if (stopping || !openHubLink()) return false;
        hubLink!.start();
        return true;
      },
      health() {
        const saf = journal.safDepth();
        // Ready to take payments: the integrated terminal is up, or the acquirer link is.
        const up = integrated
          ? integrated.state === 'idle' || integrated.state === 'busy'
          : host.state === 'ready';
        return {
          ready: up && !recovering,
          uptimeMs: Date.now() - started,
          host: config.hostEnabled ? host.state : 'not_configured',
          reader: reader.state,
          ...(integrated ? { terminal: { kind: integrated.kind, state: integrated.state } } : {}),
          recovering,
          saf: Object.fromEntries(saf.map((s) => [s.lane, { depth: s.count, oldest: s.oldest }])),
          openOperations: journal.openOperations().length,
          lastSeq: journal.lastSeq(),
          ...(Object.keys(readerParams.state()).length ? { readerParameters: readerParams.state() } : {}),
          ...(hubLink ? { hub: hubLink.status() } : {}),
        };
      },
      async start() {
        // Listen first: a port in use must not leave a reader, a host link or the journal's lock behind.
        try {
          await new Promise<void>((resolve, reject) => {
            daemon.server.once('error', reject);
            daemon.server.listen(config.port, '127.0.0.1', () => {
              daemon.server.off('error', reject);
              resolve();
            });
          });
        } catch (e) {
          stopping = true;
          resolveRecovered(undefined);
          await Promise.allSettled([host.close(), reader.close(), integrated?.close()]);
          journal.close();
          throw e;
        }
        daemon.port = (daemon.server.address() as AddressInfo).port;
        (reader as { start?: () => void }).start?.();
        integrated?.start();
        // A ZVT-only desk has no acquirer link to start.
        if (config.hostEnabled) {
          terminalManager.start();
          host.start();
        }
        api = attachApi(daemon, {
          allowedOrigins: [...config.allowedOrigins, ...(options.extraOrigins?.(daemon.port) ?? [])],
          ...(config.timers.helloDeadlineMs ? { helloDeadlineMs: config.timers.helloDeadlineMs } : {}),
          extraTokens: pairing,
          pair: options.pair ?? ((code, origin) => pairing.redeem(code, origin)),
          settlement,
        });
        engine.saf.start();
        webhooks?.start();
        hubLink?.start();
        // Start-up recovery runs in the background: reversals still go out before any new sale.
        void engine
          .recover()
          .then((r) => {
            logger.info({ recovery: r }, `start-up recovery done: ${recoverySummary(r)}`);
            resolveRecovered(r);
          })
          .catch((e: unknown) => {
            // Cut short by a stop (the journal closed under it): the next start runs it again.
            if (!stopping) logger.error({ err: e }, 'start-up recovery failed; will retry on the next poll');
            resolveRecovered(undefined);
          })
          .finally(() => {
            recovering = false;
          });
        logger.info({ port: daemon.port, stateDir: config.stateDir }, 'posbridge ready');
        return { port: daemon.port };
      },
      recovered() {
        return recovered;
      },
      async stop() {
        stopping = true;
        await api?.close();
        await new Promise<void>((resolve) => {
          daemon.server.close(() => resolve());
          daemon.server.closeAllConnections();
        });
        terminalManager.stop();
        await engine.stop();
        await webhooks?.stop();
        await hubLink?.stop();
        await host.close();
        await reader.close();
        await integrated?.close();
        journal.close();
        resolveRecovered(undefined);
        logger.info('posbridge stopped');
        logger.flush?.();
      },
    };

    async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
      const url = new URL(req.url ?? '/', 'http://localhost');
      try {
        if (req.method === 'GET' && url.pathname === '/metrics') {
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(
            metricsText(journal, {
              hostState: host.state,
              readerState: reader.state,
              readerReconnects,
              uptimeSeconds: Math.round((Date.now() - started) / 1000),
            }),
          );
          return;
        }
        if (req.method === 'GET' && url.pathname === '/healthz') {
          const h = daemon.health();
          res
            .writeHead(h['ready'] ? 200 : 503, { 'content-type': 'application/json' })
            .end(JSON.stringify(h));
          return;
        }
        const route = routes.find(
          (r) =>
            r.method === req.method &&
            (r.path.endsWith('*') ? url.pathname.startsWith(r.path.slice(0, -1)) : url.pathname === r.path),
        );
        if (route) {
          await route.handler(req, res, daemon);
          return;
        }
        res
          .writeHead(404, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: 'not_found' }));
      } catch (e) {
        logger.error({ err: e, path: url.pathname }, 'route failed');
        if (!res.headersSent)
          res
            .writeHead(500, { 'content-type': 'application/json' })
            .end(JSON.stringify({ error: 'internal_error' }));
      }
    }

    return daemon;
  } catch (e) {
    journal.close();
    throw e;
  }
}

/** "examined 2 open operations: reversal_queued 1, cancelled_before_host 1" (or "... nothing to do"). */
export function recoverySummary(r: RecoveryResult): string {
  const actions = Object.entries(r.actions).filter(([, n]) => n > 0);
  return (
    `examined ${r.examined} open operation${r.examined === 1 ? '' : 's'}: ` +
    (actions.length ? actions.map(([k, n]) => `${k} ${n}`).join(', ') : 'nothing to do')
  );
}

function makeZvt(config: DaemonConfig, logger: Logger): IntegratedTerminal {
  const z = config.zvt!;
  return new ZvtTerminal({
    ...(z.tcp ? { tcp: { host: z.tcp.host, ...(z.tcp.port ? { port: z.tcp.port } : {}) } } : {}),
    ...(z.serial
      ? { serial: { path: z.serial.path, ...(z.serial.baudRate ? { baudRate: z.serial.baudRate } : {}) } }
      : {}),
    password: z.password,
    currency: z.currency ?? config.currency,
    ...(z.capabilities ? { capabilities: z.capabilities } : {}),
    ...(z.textBlocks !== undefined ? { textBlocks: z.textBlocks } : {}),
    ...(z.charset ? { charset: z.charset } : {}),
    logger,
  });
}

function makeReader(
  config: DaemonConfig,
  logger: Logger,
  keyScheme: KeyScheme,
): CardReader & { start(): void } {
  const r = config.readers[0]!;
  const rc: ReaderConfig = {
    transport: r.transport,
    profile: r.profile ?? 'posbridge',
    pairedSerials: r.pairedSerials,
    macAlgorithm: config.host.macAlgorithm,
    keyScheme,
    terminalId: config.terminalId,
    logger,
    ...(r.path ? { path: r.path } : {}),
    ...(r.namePrefix ? { namePrefix: r.namePrefix } : {}),
    ...(r.host ? { host: r.host } : {}),
    ...(r.port ? { port: r.port } : {}),
    ...(r.expectedKcv ? { expectedKcv: r.expectedKcv } : {}),
  };
  return createCardReader(rc) as unknown as CardReader & { start(): void };
}
