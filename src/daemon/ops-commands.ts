import { parseArgs } from 'node:util';
import { reconcileFileOffline } from '../engine/index.js';
import { Journal } from '../journal/index.js';
import { Sealer, KeyEncryptionKey } from '../crypto/index.js';
import { bluetoothAvailability, listSerialPorts, scanReaders } from '../terminal/index.js';
import { defaultStateDir, keyStoreFromEnv } from './config.js';
import { EXIT } from './failures.js';
import { adminCall, runningDaemon } from './running.js';
import pino from 'pino';

/** noble's own console chatter goes here, not into the command's output. */
const quiet = pino({ level: 'silent' });

const out = (s: string): void => {
  process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
};

/** `posbridge settle`: closes the current batch through the running daemon (it owns the host link). */
export async function settleCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      home: { type: 'string' },
      operator: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    out(
      'usage: posbridge settle [--operator <id>] [--home <dir>]\nCloses the current batch (0500/0510, batch upload when unbalanced) through the running daemon; prints the result as JSON.',
    );
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
 * `posbridge reconcile --file <csv>`: compares the journal with a host settlement file. Through the
 * running daemon when there is one, else offline under the state directory's lock.
 */
export async function reconcileCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      home: { type: 'string' },
      file: { type: 'string' },
      terminal: { type: 'string' },
      csv: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || !values.file) {
    out(
      'usage: posbridge reconcile --file <host-settlement.csv> [--csv] [--terminal <tid>] [--home <dir>]\nPrints the report (JSON, or CSV with --csv); exit 1 when there are differences. See docs/reconciliation.md.',
    );
    return values.help ? EXIT.ok : EXIT.usage;
  }
  const home = values.home ?? defaultStateDir();
  const d = runningDaemon(home);
  let result: { report?: { items?: unknown[] }; json?: unknown; csv?: string };
  if (d) {
    const r = await adminCall(d, 'POST', '/admin/reconcile', { file: values.file });
    if (r.status !== 200) {
      process.stderr.write(`${JSON.stringify(r.json)}\n`);
      return EXIT.problem;
    }
    result = r.json as typeof result;
  } else {
    if (!values.terminal) {
      process.stderr.write('no daemon running: give --terminal <tid> (the daemon knows its own)\n');
      return EXIT.usage;
    }
    const kek = await KeyEncryptionKey.load(keyStoreFromEnv(process.env), { stateDir: home, create: false });
    const journal = Journal.open({ dir: home, sealer: await Sealer.load(home, { kek }) });
    try {
      result = (await reconcileFileOffline(journal, values.terminal, { file: values.file })) as typeof result;
    } finally {
      journal.close();
    }
  }
  if (values.csv && result.csv) process.stdout.write(result.csv);
  else out(JSON.stringify(result.json ?? result.report, null, 2));
  return (result.report?.items?.length ?? 0) > 0 ? EXIT.problem : EXIT.ok;
}

/** `posbridge readers scan|ports`: Bluetooth readers in range, serial ports present. */
export async function readersCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: {
      'timeout-ms': { type: 'string' },
      prefix: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || (sub !== 'scan' && sub !== 'ports')) {
    out(
      'usage: posbridge readers scan [--timeout-ms 5000] [--prefix PBR-] | readers ports\nscan: Bluetooth LE readers in range (name, id, signal, profile), or why it cannot scan. ports: serial ports.',
    );
    return values.help ? EXIT.ok : EXIT.usage;
  }
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
