/**
 * `posbridge-sim qr`: runs the Alipay + WeChat Pay simulator until SIGTERM / SIGINT. Prints exactly one line
 * on stdout once everything listens: `{"ready":true,"http":<port>,"control":<port>}`; logs go to stderr.
 */
import { asUsageError, badValue, parseCommandArgs, printUsageError } from '../../src/daemon/cli-args.js';
import { loadOrCreateQrCredentials } from './keys.js';
import { startQrSimulator, type StartQrSimulatorOptions } from './index.js';

export const QR_HELP = `posbridge-sim qr: the scan-to-pay provider simulator (Alipay OpenAPI + WeChat Pay v3 / v2 payment code)

Usage:
  posbridge-sim qr [--port 0] [--host 127.0.0.1] [--control-port 0|none]
Options:
  --keys-dir <dir>        TEST-ONLY keys: read from <dir>, or generated and written there (private keys 0600)
                          so an adapter configuration can point at them; without it keys live in memory only
  --app-id <id>           Alipay app id (default 2021000000000001; ignored when --keys-dir holds keys)
  --mchid <digits>        WeChat Pay merchant id (default 1900000109)
  --appid <id>            WeChat AppID (default wxd678efh567hg6787)
  --notify-url <url>      where notifications go (default: each request's notify_url)
  --behaviour <json>      initial behaviour, e.g. '{"userPayingMs":3000}'
  --log-level <level>     pino level for the stderr log (default info)

Gateways on the one HTTP port: Alipay POST /gateway.do; WeChat Pay /v3/... and /pay/micropay,
/pay/orderquery, /secapi/pay/reverse. Control API (loopback): POST /scan, POST /behaviour, GET /trades,
GET /refunds, GET /bills/<provider>/<date>, ... (docs/qr.md).
Prints one ready line {"ready":true,"http":<port>,"control":<port>} and runs until SIGTERM or SIGINT.
`;

function parsePort(v: string, what: string): number {
  if (!/^[0-9]{1,5}$/.test(v) || Number(v) > 65535) throw new Error(`${what} must be a port number 0..65535`);
  return Number(v);
}

export async function qrOptionsFromArgs(argv: string[]): Promise<StartQrSimulatorOptions | 'help'> {
  const { values } = parseCommandArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'control-port': { type: 'string' },
      'keys-dir': { type: 'string' },
      'app-id': { type: 'string' },
      mchid: { type: 'string' },
      appid: { type: 'string' },
      'notify-url': { type: 'string' },
      behaviour: { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  const o: StartQrSimulatorOptions = {
    port: parsePort(values.port ?? '0', '--port'),
    host: values.host ?? '127.0.0.1',
    logLevel: values['log-level'] ?? 'info',
  };
  const cp = values['control-port'];
  if (cp !== undefined) o.control = cp === 'none' ? false : { port: parsePort(cp, '--control-port') };
  if (values['app-id'] !== undefined) {
    if (!/^[0-9A-Za-z]{1,32}$/.test(values['app-id'])) throw new Error('--app-id must be letters or digits');
    o.alipay = { appId: values['app-id'] };
  }
  if (values.mchid !== undefined && !/^[0-9]{1,32}$/.test(values.mchid))
    throw new Error('--mchid must be digits');
  if (values.appid !== undefined && !/^[0-9A-Za-z]{1,32}$/.test(values.appid))
    throw new Error('--appid must be letters or digits');
  if (values.mchid !== undefined || values.appid !== undefined)
    o.wechat = {
      ...(values.mchid !== undefined ? { mchid: values.mchid } : {}),
      ...(values.appid !== undefined ? { appid: values.appid } : {}),
    };
  if (values['notify-url'] !== undefined) {
    if (!/^https?:\/\//.test(values['notify-url'])) throw new Error('--notify-url must be an http(s) URL');
    o.notifyUrl = values['notify-url'];
  }
  if (values.behaviour !== undefined) {
    try {
      o.behaviour = JSON.parse(values.behaviour) as Record<string, unknown>;
    } catch {
      throw new Error('--behaviour must be a JSON object');
    }
  }
  if (values['keys-dir'] !== undefined) o.credentials = await loadOrCreateQrCredentials(values['keys-dir']);
  return o;
}

/** Runs until a signal; resolves with the exit code. */
export async function runQrCli(argv: string[]): Promise<number> {
  let options: StartQrSimulatorOptions | 'help';
  try {
    options = await qrOptionsFromArgs(argv);
  } catch (err) {
    return printUsageError(
      'posbridge-sim qr',
      asUsageError(err) ?? badValue((err as Error).message),
      QR_HELP,
    );
  }
  if (options === 'help') {
    process.stdout.write(QR_HELP);
    return 0;
  }
  let sim;
  try {
    sim = await startQrSimulator(options);
  } catch (err) {
    process.stderr.write(`posbridge-sim qr: ${(err as Error).message}\n`);
    return 1;
  }
  process.stdout.write(
    `${JSON.stringify({ ready: true, http: sim.port, control: sim.controlPort ?? null })}\n`,
  );
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`posbridge-sim qr: ${signal}, stopping\n`);
      sim.close().then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
