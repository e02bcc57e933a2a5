import { readdirSync, readFileSync, statfsSync, statSync } from 'node:fs';
import { isWrapped } from '../crypto/index.js';
import net from 'node:net';
import { join } from 'node:path';
import { bluetoothAvailability, listSerialPorts } from '../terminal/index.js';
import { keyStoreFromEnv, type DaemonConfig, type ZvtEntry } from './config.js';
import { checkZvtEntry, type ZvtCheckOptions } from './doctor-zvt.js';
import { openReadOnly } from './journal-command.js';
import { permissionDeniedMessage, StateAccessError } from './failures.js';
import { adminCall, runningDaemon } from './running.js';
import { probe } from './state-dir.js';
import pino from 'pino';

const PERMISSION_FIX =
  'run posbridge as the user that owns the state directory (the one the daemon runs as), or fix the mode: chmod 700 <dir>, chmod 600 the files in it';

/** noble's own console chatter goes here, not into the command's output. */
const quiet = pino({ level: 'silent' });

export interface Check {
  name: string;
  status: 'pass' | 'warn' | 'fail';
  detail: string;
  fix?: string;
}

/** `posbridge doctor`: each check passes, warns or fails, with the fix. */
export async function doctor(
  config: Pick<DaemonConfig, 'stateDir' | 'readers'> & {
    host?: DaemonConfig['host'];
    /** false on a ZVT-only desk: no acquirer link to check. */
    hostEnabled?: boolean;
    /** An integrated ZVT terminal: connection, registration, status enquiry, diagnosis. */
    zvt?: ZvtEntry;
    currency?: string;
    keyStore?: DaemonConfig['keyStore'];
  },
  options: { zvt?: ZvtCheckOptions } = {},
): Promise<Check[]> {
  const checks: Check[] = [];
  const dir = config.stateDir;
  const add = (c: Check): void => {
    checks.push(c);
  };

  // A path this user may not read fails with "permission denied", never "not created yet".
  const denied = (name: string, path: string): void =>
    add({ name, status: 'fail', detail: permissionDeniedMessage(path), fix: PERMISSION_FIX });
  const dirProbe = probe(dir);
  if (dirProbe.kind === 'denied') denied('state directory', dir);
  else if (dirProbe.kind === 'missing')
    add({
      name: 'state directory',
      status: 'warn',
      detail: `${dir} does not exist yet`,
      fix: 'it is created on the first `posbridge start`',
    });
  else {
    const mode = dirProbe.mode;
    add(
      mode & 0o077
        ? {
            name: 'state directory',
            status: 'warn',
            detail: `${dir} is readable by others (mode ${mode.toString(8)})`,
            fix: `chmod 700 ${dir}`,
          }
        : { name: 'state directory', status: 'pass', detail: dir },
    );
  }

  // Every other file of the state directory: the owner's alone (the journal, its WAL and shm included).
  if (dirProbe.kind === 'ok') {
    const loose = stateFiles(dir).filter(
      (f) => !['token', 'seal-keys.json', 'fingerprint.key'].includes(f.name) && f.mode & 0o077,
    );
    add(
      loose.length
        ? {
            name: 'state files',
            status: 'fail',
            detail: `readable by others: ${loose.map((f) => `${f.name} (${f.mode.toString(8)})`).join(', ')}`,
            fix: `chmod 600 ${loose.map((f) => join(dir, f.name)).join(' ')} (posbridge creates them 0600; an older version did not)`,
          }
        : { name: 'state files', status: 'pass', detail: 'every file mode 600' },
    );
  }

  // The key-encrypting key: outside the state directory, and the key files wrapped under it.
  const store = config.keyStore ?? keyStoreFromEnv(process.env);
  if (store.kind === 'file') {
    add({
      name: 'key-encrypting key',
      status: 'warn',
      detail: `a key file (${store.path}): a copy of it together with the state directory opens every sealed PAN`,
      fix: 'prefer the OS credential store (keyStore {"kind": "os"}) where there is one; otherwise keep the key file off the state directory\'s backups and readable by this user only',
    });
  } else {
    add({ name: 'key-encrypting key', status: 'pass', detail: 'the OS credential store' });
  }
  for (const file of ['seal-keys.json', 'fingerprint.key']) {
    const p = join(dir, file);
    if (probe(p).kind !== 'ok') continue;
    try {
      if (!isWrapped(readFileSync(p)))
        add({
          name: `key file ${file} wrapped`,
          status: 'warn',
          detail: 'stored in clear (an older version wrote it)',
          fix: 'start the daemon once: it wraps the file under the key-encrypting key',
        });
    } catch {
      // unreadable: reported by the key file check below
    }
  }

  for (const file of ['token', 'seal-keys.json', 'fingerprint.key']) {
    const p = join(dir, file);
    const fileProbe = dirProbe.kind === 'denied' ? dirProbe : probe(p);
    if (fileProbe.kind === 'denied') {
      denied(`key file ${file}`, p);
      continue;
    }
    if (fileProbe.kind === 'missing') {
      add({
        name: `key file ${file}`,
        status: 'warn',
        detail: 'not created yet',
        fix: 'created on the first `posbridge start`; restore it from backup if this machine had one',
      });
      continue;
    }
    const mode = fileProbe.mode;
    add(
      mode & 0o077
        ? {
            name: `key file ${file}`,
            status: 'fail',
            detail: `mode ${mode.toString(8)}: readable by others`,
            fix: `chmod 600 ${p}`,
          }
        : { name: `key file ${file}`, status: 'pass', detail: 'present, mode 600' },
    );
  }

  const journalPath = join(dir, 'journal.db');
  const journalProbe = dirProbe.kind === 'denied' ? dirProbe : probe(journalPath);
  if (journalProbe.kind === 'denied') denied('journal integrity', journalPath);
  else if (journalProbe.kind === 'ok') {
    try {
      const db = openReadOnly(dir);
      const ok = String(db.pragma('integrity_check', { simple: true }));
      const open = (
        db
          .prepare(
            "SELECT COUNT(*) AS n FROM operations WHERE state NOT IN ('completed','declined','reversed','cancelled','failed','needs_attention')",
          )
          .get() as { n: number }
      ).n;
      const attention = (
        db.prepare("SELECT COUNT(*) AS n FROM operations WHERE state = 'needs_attention'").get() as {
          n: number;
        }
      ).n;
      db.close();
      add(
        ok === 'ok'
          ? { name: 'journal integrity', status: 'pass', detail: 'SQLite integrity_check ok' }
          : {
              name: 'journal integrity',
              status: 'fail',
              detail: ok,
              fix: 'stop the daemon, copy the state directory aside and contact support; do not delete the journal',
            },
      );
      add(
        attention
          ? {
              name: 'needs attention',
              status: 'warn',
              detail: `${attention} operation(s) need a person`,
              fix: 'see `posbridge journal list --state needs_attention` and docs/reconciliation.md',
            }
          : { name: 'needs attention', status: 'pass', detail: 'none' },
      );
      if (open)
        add({
          name: 'open operations',
          status: 'warn',
          detail: `${open} operation(s) not final`,
          fix: 'start the daemon (recovery settles them) or run `posbridge recover`',
        });
    } catch (e) {
      add({
        name: 'journal integrity',
        status: 'fail',
        detail: (e as Error).message,
        fix:
          e instanceof StateAccessError ? PERMISSION_FIX : 'check the state directory path and permissions',
      });
    }
  } else
    add({
      name: 'journal integrity',
      status: 'warn',
      detail: 'no journal yet',
      fix: 'created on the first `posbridge start`',
    });

  try {
    const fs = statfsSync(dirProbe.kind === 'ok' ? dir : '/');
    const free = Number(fs.bavail) * Number(fs.bsize);
    const mb = Math.round(free / 1024 / 1024);
    add(
      free < 100 * 1024 * 1024
        ? {
            name: 'disk space',
            status: 'fail',
            detail: `${mb} MB free`,
            fix: 'free disk space: the journal must always be able to write',
          }
        : free < 1024 * 1024 * 1024
          ? { name: 'disk space', status: 'warn', detail: `${mb} MB free`, fix: 'free some disk space soon' }
          : { name: 'disk space', status: 'pass', detail: `${mb} MB free` },
    );
  } catch {
    add({ name: 'disk space', status: 'warn', detail: 'could not be measured' });
  }

  const host = config.host;
  if (config.hostEnabled === false)
    add({
      name: 'acquirer host',
      status: 'pass',
      detail: 'none configured: the ZVT terminal authorises with its own acquirer',
    });
  else if (!host)
    add({
      name: 'acquirer host',
      status: 'warn',
      detail: 'not checked (no --config given)',
      fix: 'run with --config <file>',
    });
  else {
    const reach = await new Promise<Check>((resolve) => {
      const s = net.connect({ host: host.address, port: host.port });
      const t = setTimeout(() => {
        s.destroy();
        resolve({
          name: 'acquirer host',
          status: 'fail',
          detail: `${host.address}:${host.port} did not answer in 3 s`,
          fix: 'check the network, the VPN and the host address in the configuration',
        });
      }, 3000);
      s.once('connect', () => {
        clearTimeout(t);
        s.destroy();
        resolve({
          name: 'acquirer host',
          status: 'pass',
          detail: `${host.address}:${host.port} accepts connections`,
        });
      });
      s.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(t);
        resolve({
          name: 'acquirer host',
          status: 'fail',
          detail: `${host.address}:${host.port}: ${e.code ?? e.message}`,
          fix: 'check the network, the VPN and the host address in the configuration',
        });
      });
    });
    add(reach);
  }

  let running: ReturnType<typeof runningDaemon>;
  let runningUnknown = false;
  try {
    running = runningDaemon(dir);
  } catch (e) {
    if (!(e instanceof StateAccessError)) throw e;
    runningUnknown = true;
    add({
      name: 'sign-on',
      status: 'fail',
      detail: `not checked: ${e.message}`,
      fix: PERMISSION_FIX,
    });
  }
  if (runningUnknown) {
    // reported above
  } else if (running) {
    try {
      const h = (await (await fetch(`http://127.0.0.1:${running.port}/healthz`)).json()) as Record<
        string,
        unknown
      >;
      const zvt = (h['terminal'] as { kind?: string } | undefined)?.kind === 'zvt';
      add(
        h['host'] === 'not_configured'
          ? {
              name: 'sign-on',
              status: 'pass',
              detail: 'no acquirer link on this desk: the ZVT terminal authorises with its own acquirer',
            }
          : h['host'] === 'ready'
            ? { name: 'sign-on', status: 'pass', detail: 'the running daemon is signed on (host link ready)' }
            : {
                name: 'sign-on',
                status: 'fail',
                detail: `host link ${String(h['host'])}`,
                fix: 'see the log in the state directory (logs/posbridge.log) for the sign-on answer',
              },
      );
      if (!zvt || config.readers.length)
        add(
          h['reader'] === 'idle' || h['reader'] === 'busy'
            ? { name: 'card reader', status: 'pass', detail: `connected (${String(h['reader'])})` }
            : {
                name: 'card reader',
                status: 'warn',
                detail: `reader ${String(h['reader'])}`,
                fix: 'switch the reader on, check the cable or Bluetooth pairing, and its serial number in pairedSerials',
              },
        );
      if (zvt) {
        // The daemon holds the terminal (one cash register at a time): check over its connection.
        const r = await adminCall(running, 'POST', '/admin/terminal/check', {
          ...(options.zvt?.skipDiagnosis ? { skipDiagnosis: true } : {}),
        });
        const body = r.json as { checks?: Check[] } | null;
        if (r.status === 200 && body?.checks) for (const c of body.checks) add(c);
        else
          add({
            name: 'ZVT terminal',
            status: 'warn',
            detail: `the running daemon did not run the terminal checks (HTTP ${r.status})`,
            fix: 'update posbridge, or stop the daemon and run doctor --config <file> (doctor then connects itself)',
          });
      }
    } catch {
      add({
        name: 'daemon',
        status: 'warn',
        detail: `a daemon (pid ${running.pid}) owns the state directory but /healthz did not answer`,
      });
    }
  } else {
    if (config.hostEnabled !== false)
      add({
        name: 'sign-on',
        status: 'warn',
        detail: 'no daemon running: sign-on and clock skew not checked',
        fix: 'start the daemon and run doctor again',
      });
    // No daemon holds the terminal: doctor connects to it itself (and logs off again).
    if (config.zvt)
      for (const c of await checkZvtEntry(config.zvt, config.currency ?? '156', options.zvt)) add(c);
  }

  for (const r of config.readers) {
    if (r.transport === 'serial') {
      const ports = await listSerialPorts();
      const found = ports.some((p) => p.path === r.path);
      add(
        found
          ? { name: `serial port ${r.path}`, status: 'pass', detail: 'present' }
          : {
              name: `serial port ${r.path}`,
              status: 'fail',
              detail: `not present (ports: ${ports.map((p) => p.path).join(', ') || 'none'})`,
              fix: 'plug the reader in; on Linux the user needs the dialout group',
            },
      );
    }
  }
  const wantsBle = config.readers.some((r) => r.transport === 'ble');
  const bt = await bluetoothAvailability({ timeoutMs: 2000, logger: quiet });
  if (bt.ok) add({ name: 'Bluetooth', status: 'pass', detail: 'adapter powered on' });
  else
    add({
      name: 'Bluetooth',
      status: wantsBle ? 'fail' : 'warn',
      detail: `${bt.reason}: ${bt.message}${wantsBle ? '' : ' (no Bluetooth reader configured)'}`,
      fix: 'see docs/bluetooth.md: adapter, BlueZ, permissions',
    });
  return checks;
}

/** The regular files directly in the state directory, with their permission bits. */
function stateFiles(dir: string): { name: string; mode: number }[] {
  const out: { name: string; mode: number }[] = [];
  for (const name of readdirSync(dir)) {
    try {
      const st = statSync(join(dir, name));
      if (st.isFile()) out.push({ name, mode: st.mode & 0o777 });
    } catch {
      // vanished meanwhile (a WAL checkpoint): nothing to check
    }
  }
  return out;
}
