/**
 * `posbridge-sim engine`: the daemon's composition (journal, reader driver, host link, engine) as its own
 * process, with a small loopback control API to submit payments, so tests can SIGKILL it mid-payment
 * and restart it on the same state directory. Prints one ready line: {"ready":true,"http":<port>}.
 *
 *   posbridge-sim engine --dir <stateDir> --host-port <iso port> --reader-port <tcp port> [--port 0]
 *                        [--dialect cup-pos] [--reader-profile posbridge]
 *   posbridge-sim engine --dir <stateDir> --zvt-port <zvt port> [--zvt-password 123456] [--port 0]
 *
 * --dialect names the acquirer's ISO 8583 dialect (protocols/iso8583: e.g. cup-pos-sm4 for SM4 working
 * keys, cup-pos-dukpt for a DUKPT reader's KSN in field 53) and --reader-profile the reader's profile
 * (protocols/terminal: e.g. posbridge-dukpt-tdes, whose `pinKeyScheme` says how the reader encrypts
 * PINs); the host and reader simulators must run the same ones (the chaos run's SM4 and DUKPT lanes).
 *
 * With --qr-url and --qr-keys-dir (the QR gateway simulator's URL and its --keys-dir) the daemon gets a
 * `qr` block naming those key files (Alipay and WeChat Pay adapters against the simulator, built by the
 * daemon's own configuration code); without a host, reader or ZVT terminal it is a scan-to-pay-only
 * desk (no acquirer link started, no reader). --qr-notify-url is the adapters' notify URL (the CRM
 * backend's forwarder: simulators/qr/forwarder.ts); --qr-poll-ms, --qr-expiry-seconds and
 * --qr-paying-timeout-ms run the QR timers short. Notifications reach the daemon's POST /qr/notify/*
 * with the state directory's token.
 *
 *   posbridge-sim engine --dir <stateDir> --qr-url <http://127.0.0.1:port> --qr-keys-dir <dir> [--port 0]
 *
 * With --zvt-port the daemon is composed with a `zvt` block (an integrated ZVT terminal over TCP on
 * 127.0.0.1, e.g. `posbridge-sim zvt --tcp 0`) and no acquirer link or reader: every payment goes
 * through the terminal (docs/zvt.md). Its ZVT client runs with short reconnect back-off (the simulator
 * drops the link in faults; the runner is restarted after kills), T4 of 30 s.
 *
 * Control API (JSON): POST /control/operations {kind, idempotencyKey, amount?, originalId?, orderId?}
 * → the operation view (or {error: {code, path}}); GET /control/operations → every operation;
 * GET /control/operations/<id>; POST /control/partial/<id> {accept}; POST /control/cancel/<id> (the
 * operator's cancel; 409 {error: {code}} e.g. already_completed); GET /healthz.
 * With --webhook-url and --webhook-secret, results go to that URL as signed webhooks (docs/webhooks.md).
 */
import { readFileSync } from 'node:fs';
import type http from 'node:http';
import { join, resolve } from 'node:path';
import { badValue, parseCommandArgs, UsageError } from '../src/daemon/cli-args.js';
import pino, { type LoggerOptions } from 'pino';
import { cardLogOptions } from '../src/card/index.js';
import { parseConfig, type DaemonConfig, type QrEntry } from '../src/daemon/config.js';
import { listDialects } from '../src/iso8583/index.js';
import { listReaderProfiles } from '../src/terminal/index.js';
import { createDaemon, type Daemon, type Route } from '../src/daemon/daemon.js';
import { EngineError } from '../src/engine/index.js';
import { ZvtTerminal, type ZvtTimers } from '../src/terminal/zvt/index.js';

/** The ZVT client's timers in the runner: reconnect fast after a drop or a restart. */
export const RUNNER_ZVT_TIMERS: Partial<ZvtTimers> = {
  t3Ms: 3_000,
  t4Ms: 30_000,
  connectMs: 3_000,
  backoffInitialMs: 50,
  backoffMaxMs: 500,
};

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function body(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
}

export const CONTROL_ROUTES: Route[] = [
  {
    method: 'POST',
    path: '/control/operations',
    async handler(req, res, d: Daemon) {
      const b = (await body(req)) as Record<string, unknown>;
      try {
        const v = d.engine.submit({ operatorId: 'runner', ...(b as object) } as never);
        json(res, 200, v);
      } catch (e) {
        if (e instanceof EngineError)
          json(res, 409, { error: { code: e.code, path: e.path ?? null, message: e.message } });
        else throw e;
      }
    },
  },
  {
    method: 'GET',
    path: '/control/operations',
    handler(_req, res, d) {
      json(res, 200, {
        operations: d.engine.recent(1_000_000),
        saf: d.journal.safDepth(),
        open: d.journal.openOperations().length,
      });
    },
  },
  {
    method: 'GET',
    path: '/control/operations/*',
    handler(req, res, d) {
      const id = decodeURIComponent((req.url ?? '').split('/').pop() ?? '');
      try {
        json(res, 200, d.engine.view(id));
      } catch {
        json(res, 404, { error: { code: 'unknown_payment' } });
      }
    },
  },
  {
    method: 'POST',
    path: '/control/cancel/*',
    async handler(req, res, d) {
      const id = decodeURIComponent((req.url ?? '').split('/').pop() ?? '');
      try {
        json(res, 200, await d.engine.cancel(id, 'runner'));
      } catch (e) {
        if (e instanceof EngineError)
          json(res, 409, { error: { code: e.code, path: e.path ?? null, message: e.message } });
        else throw e;
      }
    },
  },
  {
    method: 'POST',
    path: '/control/partial/*',
    async handler(req, res, d) {
      const id = decodeURIComponent((req.url ?? '').split('/').pop() ?? '');
      const b = (await body(req)) as { accept?: boolean };
      try {
        json(res, 200, d.engine.decidePartial(id, b.accept === true));
      } catch (e) {
        json(res, 409, { error: { code: (e as EngineError).code ?? 'error' } });
      }
    },
  },
];

/**
 * The daemon's `qr` block for the QR gateway simulator at `url` whose test-only keys are in `keysDir`
 * (`posbridge-sim qr --keys-dir`): the configuration names the key files, as a deployment's does.
 */
export function qrConfigForSimulator(url: string, keysDir: string, notifyUrl: string): QrEntry {
  const dir = resolve(keysDir);
  const ids = JSON.parse(readFileSync(join(dir, 'ids.json'), 'utf8')) as {
    alipay: { appId: string };
    wechat: { mchid: string; appid: string; merchantSerialNo: string; platformSerialNo: string };
  };
  return {
    alipay: {
      appId: ids.alipay.appId,
      gatewayUrl: `${url}/gateway.do`,
      appPrivateKeyFile: join(dir, 'alipay-app-private.pem'),
      alipayPublicKeyFile: join(dir, 'alipay-public.pem'),
      notifyUrl,
    },
    wechat: {
      mchid: ids.wechat.mchid,
      appid: ids.wechat.appid,
      baseUrl: url,
      merchantPrivateKeyFile: join(dir, 'wechat-merchant-private.pem'),
      merchantSerialNo: ids.wechat.merchantSerialNo,
      platformPublicKeys: { [ids.wechat.platformSerialNo]: join(dir, 'wechat-platform-public.pem') },
      apiV3KeyFile: join(dir, 'wechat-apiv3.key'),
      apiV2KeyFile: join(dir, 'wechat-apiv2.key'),
      notifyUrl,
    },
  };
}

const positive = (v: string | undefined, what: string): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${what} must be a positive number`);
  return n;
};

export const ENGINE_USAGE =
  'usage: posbridge-sim engine --dir <stateDir> --host-port <port> --reader-port <port> [--port 0] [--response-ms 1500]\n' +
  '                            [--dialect cup-pos] [--reader-profile posbridge]\n' +
  '                                                       the acquirer dialect (protocols/iso8583) and the reader\n' +
  '                                                       profile (protocols/terminal), as the simulators run them\n' +
  '       posbridge-sim engine --dir <stateDir> --zvt-port <port> [--zvt-password 123456] [--port 0]\n' +
  '                                                       a ZVT terminal (posbridge-sim zvt) takes the payments\n' +
  '       posbridge-sim engine --dir <stateDir> --qr-url <url> --qr-keys-dir <dir> [--qr-notify-url <url>]\n' +
  '                            [--qr-poll-ms 150] [--qr-expiry-seconds 3] [--qr-paying-timeout-ms 2500]\n' +
  '                                                       scan-to-pay against posbridge-sim qr (also with the others)\n' +
  '       [--webhook-url <url> --webhook-secret <secret>]   result webhooks (short back-off: 100 ms to 1 s)\n';

export async function runEngineCli(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs({
    args: argv,
    options: {
      dir: { type: 'string' },
      'host-port': { type: 'string' },
      'reader-port': { type: 'string' },
      'zvt-port': { type: 'string' },
      'zvt-password': { type: 'string', default: '123456' },
      port: { type: 'string', default: '0' },
      'response-ms': { type: 'string', default: '1500' },
      dialect: { type: 'string' },
      'reader-profile': { type: 'string' },
      'log-level': { type: 'string', default: 'info' },
      'webhook-url': { type: 'string' },
      'webhook-secret': { type: 'string' },
      'qr-url': { type: 'string' },
      'qr-keys-dir': { type: 'string' },
      'qr-notify-url': { type: 'string' },
      'qr-poll-ms': { type: 'string' },
      'qr-expiry-seconds': { type: 'string' },
      'qr-paying-timeout-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(ENGINE_USAGE);
    return 0;
  }
  const zvtPort = values['zvt-port'];
  const readerPath = values['host-port'] !== undefined && values['reader-port'] !== undefined;
  const qrUrl = values['qr-url'];
  const qrKeys = values['qr-keys-dir'];
  const qrOnly = !zvtPort && !readerPath && qrUrl !== undefined && qrKeys !== undefined;
  if (!values.dir) throw new UsageError('needs --dir <stateDir>');
  if (!qrUrl !== !qrKeys) throw new UsageError('--qr-url and --qr-keys-dir go together');
  if (!zvtPort && !readerPath && !qrOnly)
    throw new UsageError(
      'needs a terminal: --host-port and --reader-port, or --zvt-port, or --qr-url with --qr-keys-dir',
    );
  const dialect = values.dialect;
  if (dialect !== undefined && !listDialects().includes(dialect))
    throw badValue(
      `--dialect ${dialect} is not a dialect in protocols/iso8583 (${listDialects().join(', ')})`,
    );
  const readerProfile = values['reader-profile'];
  if (readerProfile !== undefined && !listReaderProfiles().includes(readerProfile))
    throw badValue(
      `--reader-profile ${readerProfile} is not a profile in protocols/terminal (${listReaderProfiles().join(', ')})`,
    );
  let qrTimers: { pollMs?: number; expirySeconds?: number; payingTimeoutMs?: number };
  try {
    const pollMs = positive(values['qr-poll-ms'], '--qr-poll-ms');
    const expirySeconds = positive(values['qr-expiry-seconds'], '--qr-expiry-seconds');
    const payingTimeoutMs = positive(values['qr-paying-timeout-ms'], '--qr-paying-timeout-ms');
    qrTimers = {
      ...(pollMs ? { pollMs } : {}),
      ...(expirySeconds ? { expirySeconds } : {}),
      ...(payingTimeoutMs ? { payingTimeoutMs } : {}),
    };
  } catch (e) {
    process.stderr.write(`posbridge-sim engine: ${(e as Error).message}\n`);
    return 2;
  }
  const parsed = parseConfig(
    {
      port: Number(values.port),
      stateDir: values.dir,
      // The key-encrypting key outside the state directory, surviving the runner's kills.
      keyStore: { kind: 'file', path: `${resolve(values.dir)}.kek` },
      terminalId: 'CHAOS001',
      merchantId: '898310048160001',
      ...(values['host-port'] !== undefined
        ? {
            host: {
              address: '127.0.0.1',
              port: Number(values['host-port']),
              ...(dialect !== undefined ? { dialect } : {}),
            },
          }
        : qrOnly
          ? // The configuration wants a card path; a scan-to-pay-only runner starts neither (below).
            { host: { address: '127.0.0.1', port: 1 } }
          : {}),
      ...(values['reader-port'] !== undefined
        ? {
            readers: [
              {
                transport: 'tcp',
                host: '127.0.0.1',
                port: Number(values['reader-port']),
                ...(readerProfile !== undefined ? { profile: readerProfile } : {}),
                pairedSerials: ['PBR-SIM-0001'],
              },
            ],
          }
        : qrOnly
          ? { readers: [{ transport: 'tcp', host: '127.0.0.1', port: 9, pairedSerials: [] }] }
          : {}),
      ...(qrUrl && qrKeys
        ? { qr: qrConfigForSimulator(qrUrl, qrKeys, values['qr-notify-url'] ?? `${qrUrl}/notify-sink`) }
        : {}),
      ...(zvtPort
        ? { zvt: { tcp: { host: '127.0.0.1', port: Number(zvtPort) }, password: values['zvt-password'] } }
        : {}),
      timers: {
        hostResponseMs: Number(values['response-ms']),
        hostConnectMs: 1000,
        hostIdleEchoMs: 0,
        safPollMs: 50,
        reversalBackoffInitialMs: 50,
        reversalBackoffMaxMs: 500,
        cardTimeoutSeconds: 10,
      },
      logLevel: values['log-level'] as never,
      ...(values['webhook-url']
        ? { webhook: { url: values['webhook-url'], secret: values['webhook-secret'] ?? '' } }
        : {}),
    },
    'engine runner',
    {},
  );
  const config: DaemonConfig = qrOnly ? { ...parsed, hostEnabled: false, readers: [] } : parsed;
  const logger = pino(
    {
      ...(cardLogOptions() as unknown as LoggerOptions),
      level: config.logLevel,
      base: { name: 'engine-runner' },
    },
    pino.destination({ fd: 2, sync: true }),
  );
  // The daemon would build the same client from `config.zvt`; the runner's only difference is its timers.
  const integrated = config.zvt?.tcp
    ? new ZvtTerminal({
        tcp: { host: config.zvt.tcp.host, port: config.zvt.tcp.port ?? 20007 },
        password: config.zvt.password,
        currency: config.zvt.currency ?? config.currency,
        timers: RUNNER_ZVT_TIMERS,
        logger,
      })
    : undefined;
  const daemon = await createDaemon({
    config,
    routes: CONTROL_ROUTES,
    logger,
    ...(integrated ? { integrated } : {}),
    engineConfig: { readerRecoveryMs: 3000, inquiryWaitMs: 2000 },
    qrTimers,
    webhookTimers: { pollMs: 100, backoffInitialMs: 100, backoffMaxMs: 1000, requestTimeoutMs: 2000 },
  });
  const { port } = await daemon.start();
  process.stdout.write(`${JSON.stringify({ ready: true, http: port })}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await daemon.stop();
  return 0;
}
