import {
  reconcileFileOffline,
  reconcileQrOffline,
  SettlementError,
  type ReconcileQrParams,
  type ReconciliationReport,
} from '../engine/index.js';
import { Journal } from '../journal/index.js';
import { Sealer, KeyEncryptionKey } from '../crypto/index.js';
import { bluetoothAvailability, listSerialPorts, scanReaders } from '../terminal/index.js';
import { defaultStateDir, keyStoreForStateDir, loadConfigFile } from './config.js';
import { qrProvidersFromConfig } from './qr-providers.js';
import { badValue, parseCommandArgs, UsageError, withUsage } from './cli-args.js';
import { EXIT } from './failures.js';
import { reportText } from './reconcile-text.js';
import { adminCall, runningDaemon } from './running.js';
import { helpFor, usageOf } from './usage.js';
import pino from 'pino';

/** noble's own console chatter goes here, not into the command's output. */
const quiet = pino({ level: 'silent' });

const out = (s: string): void => {
  process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
};

/** `posbridge settle`: closes the current batch through the running daemon (it owns the host link). */
export async function settleCommand(args: string[]): Promise<number> {
  return withUsage('posbridge settle', usageOf('settle'), () => settle(args));
}

async function settle(args: string[]): Promise<number> {
  const { values } = parseCommandArgs({
    args,
    options: {
      home: { type: 'string' },
      operator: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    out(usageOf('settle'));
    return EXIT.ok;
  }
  const d = runningDaemon(values.home ?? defaultStateDir());
  if (!d) {
    process.stderr.write(
      'no daemon is running for this state directory: settlement needs the host link; start the daemon first\n',
    );
    return EXIT.notRunning;
  }
  const r = await adminCall(
    d,
    'POST',
    '/admin/settle',
    values.operator ? { operatorId: values.operator } : {},
  );
  out(JSON.stringify(r.json, null, 2));
  const outcome = (r.json as { outcome?: string } | null)?.outcome;
  return r.status === 200 && outcome === 'settled' ? EXIT.ok : EXIT.problem;
}

/**
 * `posbridge reconcile --file <csv>`: compares the journal with a host settlement file.
 * `posbridge reconcile --qr <alipay|wechat> --date <YYYY-MM-DD>`: with a scan-to-pay provider's bill of a
 * China date (downloaded with the desk's credentials). Through the running daemon when there is one, else
 * offline under the state directory's lock (`--terminal` for a file; `--config` for a bill: the
 * provider's credentials are in it). Exit 1 when there are differences (a bill: items needing attention).
 */
export async function reconcileCommand(args: string[]): Promise<number> {
  return withUsage('posbridge reconcile', usageOf('reconcile'), () => reconcile(args));
}

const FORMATS = ['json', 'csv', 'text'] as const;
type ReportFormat = (typeof FORMATS)[number];

async function reconcile(args: string[]): Promise<number> {
  const { values } = parseCommandArgs({
    args,
    options: {
      home: { type: 'string' },
      file: { type: 'string' },
      qr: { type: 'string' },
      date: { type: 'string' },
      config: { type: 'string' },
      terminal: { type: 'string' },
      format: { type: 'string' },
      csv: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    out(usageOf('reconcile'));
    return EXIT.ok;
  }
  if (values.format !== undefined && !(FORMATS as readonly string[]).includes(values.format))
    throw badValue(`--format must be json, csv or text, got ${JSON.stringify(values.format)}`);
  if (values.csv && values.format !== undefined && values.format !== 'csv')
    throw new UsageError(`--csv is --format csv: give one of them, not --csv with --format ${values.format}`);
  const format: ReportFormat = values.csv ? 'csv' : ((values.format as ReportFormat | undefined) ?? 'json');
  if (values.file && values.qr) throw new UsageError('give --file <csv> or --qr <provider>, not both');
  if (!values.file && !values.qr)
    throw new UsageError(
      'give what to compare the journal with: --file <host-settlement.csv>, or --qr alipay|wechat --date YYYY-MM-DD',
    );
  if (values.qr !== undefined && !['alipay', 'wechat'].includes(values.qr))
    throw badValue(`--qr must be alipay or wechat, got ${JSON.stringify(values.qr)}`);
  if (values.qr !== undefined && !values.date)
    throw new UsageError('--qr needs --date YYYY-MM-DD (a China date whose day is over)');
  if (values.date !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(values.date))
    throw badValue(`--date must be YYYY-MM-DD, got ${JSON.stringify(values.date)}`);
  const qr = values.qr
    ? { provider: values.qr as ReconcileQrParams['provider'], date: values.date! }
    : undefined;
  const home = values.home ?? defaultStateDir();
  const d = runningDaemon(home);
  let result: { report?: ReconciliationReport; json?: unknown; csv?: string };
  if (d) {
    const r = await adminCall(
      d,
      'POST',
      '/admin/reconcile',
      qr ? { qr: qr.provider, date: qr.date } : { file: values.file },
    );
    if (r.status !== 200) {
      process.stderr.write(`${JSON.stringify(r.json)}\n`);
      return EXIT.problem;
    }
    result = r.json as typeof result;
  } else if (qr) {
    if (!values.config)
      throw new UsageError(
        "no daemon is running for this state directory: give --config <file> (the providers' credentials and the terminal are in it)",
      );
    const config = loadConfigFile(values.config, {
      ...process.env,
      ...(values.home !== undefined ? { POSBRIDGE_HOME: values.home } : {}),
    });
    const providers = qrProvidersFromConfig(config.qr);
    const kek = await KeyEncryptionKey.load(config.keyStore, { stateDir: config.stateDir, create: false });
    const journal = Journal.open({
      dir: config.stateDir,
      sealer: await Sealer.load(config.stateDir, { kek }),
    });
    try {
      result = (await reconcileQrOffline(journal, config.terminalId, providers, qr)) as typeof result;
    } catch (e) {
      if (!(e instanceof SettlementError)) throw e;
      process.stderr.write(`${JSON.stringify({ error: { code: e.code, message: e.message } })}\n`);
      return EXIT.problem;
    } finally {
      journal.close();
    }
  } else {
    if (!values.terminal)
      throw new UsageError(
        'no daemon is running for this state directory: give --terminal <tid> (the daemon knows its own)',
      );
    const kek = await KeyEncryptionKey.load(keyStoreForStateDir(home), { stateDir: home, create: false });
    const journal = Journal.open({ dir: home, sealer: await Sealer.load(home, { kek }) });
    try {
      result = (await reconcileFileOffline(journal, values.terminal, {
        file: values.file!,
      })) as typeof result;
    } finally {
      journal.close();
    }
  }
  if (format === 'csv' && result.csv !== undefined) process.stdout.write(result.csv);
  else if (format === 'text' && result.report) process.stdout.write(reportText(result.report));
  // `json` is the report's JSON text already (printed as is, not quoted once more).
  else out(typeof result.json === 'string' ? result.json : JSON.stringify(result.report, null, 2));
  const items = result.report?.items ?? [];
  // A bill's late arrivals that the next day's bill settles are resolved: not differences.
  const differences = qr ? items.filter((i) => i.status === 'needs_attention').length : items.length;
  return differences > 0 ? EXIT.problem : EXIT.ok;
}

/** `posbridge readers scan|ports`: Bluetooth readers in range, serial ports present. */
export async function readersCommand(args: string[]): Promise<number> {
  return withUsage('posbridge readers', usageOf('readers'), () => readers(args));
}

async function readers(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs({
    args,
    allowPositionals: true,
    options: {
      'timeout-ms': { type: 'string' },
      prefix: { type: 'string' },
      // Accepted as by every other command; scanning and listing ports use no state directory.
      home: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [sub, ...extra] = positionals;
  if (values.help) {
    out(helpFor('readers', positionals) ?? usageOf('readers'));
    return EXIT.ok;
  }
  if (sub === undefined) throw new UsageError('give a subcommand: scan or ports');
  if (sub !== 'scan' && sub !== 'ports')
    throw new UsageError(`unknown subcommand ${JSON.stringify(sub)}: scan or ports`);
  if (extra.length) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
  const timeout = values['timeout-ms'];
  if (timeout !== undefined && !/^[1-9]\d{0,5}$/.test(timeout))
    throw badValue(
      `--timeout-ms must be a number of milliseconds, got ${JSON.stringify(timeout)}: e.g. --timeout-ms 5000`,
    );
  if (sub === 'ports') {
    out(JSON.stringify(await listSerialPorts(), null, 2));
    return EXIT.ok;
  }
  const availability = await bluetoothAvailability({ timeoutMs: 2000, logger: quiet });
  if (!availability.ok) {
    out(JSON.stringify(availability, null, 2));
    process.stderr.write('cannot scan: see docs/bluetooth.md ("when scanning finds nothing")\n');
    return EXIT.problem;
  }
  const r = await scanReaders({
    timeoutMs: Number(values['timeout-ms'] ?? 5000),
    ...(values.prefix ? { namePrefix: values.prefix } : {}),
  });
  out(JSON.stringify(r, null, 2));
  return r.ok && r.readers.length ? EXIT.ok : EXIT.problem;
}
