import { readHubCredential } from './hub-wiring.js';
import { readdirSync, readFileSync, statfsSync, statSync } from 'node:fs';
import { isWrapped } from '../crypto/index.js';
import net from 'node:net';
import { join, resolve } from 'node:path';
import { bluetoothAvailability, listSerialPorts } from '../terminal/index.js';
import { keyStoreForStateDir, type DaemonConfig, type ZvtEntry } from './config.js';
import { checkZvtEntry, type ZvtCheckOptions } from './doctor-zvt.js';
import { openReadOnly } from './journal-command.js';
import { loadDialect } from '../iso8583/index.js';
import { paramsChecks, paramsView, readParamRows, type ParamsCheck } from './params-command.js';
import { permissionDeniedMessage, StateAccessError } from './failures.js';
import { adminCall, runningDaemon } from './running.js';
import { probe } from './state-dir.js';
import pino from 'pino';

const PERMISSION_FIX =
  'run posbridge as the user that owns the state directory (the one the daemon runs as), or fix the mode: chmod 700 <dir>, chmod 600 the files in it';

/** noble's own console chatter goes here, not into the command's output. */
const quiet = pino({ level: 'silent' });

/**
 * A demo's state directory (posbridge-sim demo): its simulators keep their state in `simulators/` inside
 * it, and its key-encrypting key is the file `<stateDir>.kek` beside it. It needs no --config.
 */
export function isDemoStateDir(stateDir: string): boolean {
  try {
    return statSync(join(stateDir, 'simulators')).isDirectory();
  } catch {
    return false;
  }
}

const CODE_PREFIXES = /^(?:[a-z][a-z0-9]*(?:_[a-z0-9]+)+: )+/;

/**
 * One clear line from an error message: line breaks joined, and of the stable code prefixes that layers
 * put in front of one another ("reader_disconnected: no_bluetooth_adapter: no adapter…") only the
 * innermost kept (`all: true`: none).
 */
export function plainMessage(message: string, options: { all?: boolean } = {}): string {
  const text = message.replace(/\s*\n\s*/g, '; ').trim();
  const prefixes = CODE_PREFIXES.exec(text)?.[0];
  if (!prefixes) return text;
  const rest = text.slice(prefixes.length);
  if (options.all) return rest;
  const codes = prefixes.split(': ').filter(Boolean);
  return `${codes[codes.length - 1]}: ${rest}`;
}

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
    /**
     * Where the settings came from: a configuration file (the default when `host` or `zvt` is given), or
     * only a state directory (`doctor --home`): then what is not known is not warned about.
     */
    source?: 'config' | 'state-dir';
  },
  options: { zvt?: ZvtCheckOptions } = {},
): Promise<Check[]> {
  const checks: Check[] = [];
  const dir = config.stateDir;
  const add = (c: Check): void => {
    checks.push({ ...c, detail: plainMessage(c.detail) });
  };
  const source = config.source ?? (config.host || config.zvt ? 'config' : 'state-dir');
  const demo = source === 'state-dir' && isDemoStateDir(dir);

  // A path this user may not read fails with "permission denied", never "not created yet".
  const denied = (name: string, path: string): void =>
    add({ name, status: 'fail', detail: permissionDeniedMessage(path), fix: PERMISSION_FIX });
  const dirProbe = probe(dir);
  if (dirProbe.kind === 'denied') denied('state directory', dir);
  else if (dirProbe.kind === 'missing')
    add({
      name: 'state directory',
      status: 'warn',
      detail: `${dir} does not exist yet (nor its journal, keys and token)`,
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

  // The key-encrypting key: outside the state directory, and the key files wrapped under it. Without a
  // configuration: POSBRIDGE_KEY_FILE, else a key file beside the state directory (the demo's), else the OS store.
  const store = config.keyStore ?? keyStoreForStateDir(dir);
  const beside = store.kind === 'file' && store.path === `${resolve(dir)}.kek`;
  if (store.kind === 'file' && beside && demo && !process.env['POSBRIDGE_KEY_FILE']) {
    add({
      name: 'key-encrypting key',
      status: 'pass',
      detail: `the demo's key file ${store.path}, beside the state directory (a production desk uses the OS credential store)`,
    });
  } else if (store.kind === 'file') {
    add({
      name: 'key-encrypting key',
      status: 'warn',
      detail: `a key file (${store.path}${beside && !config.keyStore ? ', found beside the state directory' : ''}): a copy of it together with the state directory opens every sealed PAN`,
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

  // Files not created yet: one finding (none at all when the state directory itself is missing: said above).
  const notYet: string[] = [];
  for (const file of ['token', 'seal-keys.json', 'fingerprint.key']) {
    const p = join(dir, file);
    const fileProbe = dirProbe.kind === 'denied' ? dirProbe : probe(p);
    if (fileProbe.kind === 'denied') {
      denied(`key file ${file}`, p);
      continue;
    }
    if (fileProbe.kind === 'missing') {
      notYet.push(file);
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
  if (notYet.length && dirProbe.kind === 'ok')
    add({
      name: notYet.length === 1 ? `key file ${notYet[0]!}` : 'key files',
      status: 'warn',
      detail: `${notYet.join(', ')} not created yet`,
      fix: 'created on the first `posbridge start`; restore them from backup if this machine had them',
    });

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
      // Terminal management (docs/terminal-management.md): CAPKs and AID parameters present, checked, current.
      let paramChecks: ParamsCheck[] = [];
      const tmsDialect = config.hostEnabled === false ? undefined : (config.host?.dialect ?? 'cup-pos');
      try {
        const spec = tmsDialect ? loadDialect(tmsDialect).spec.exchanges?.terminalManagement : undefined;
        const rows = spec ? readParamRows(db) : undefined;
        // Without a configuration, only what the journal holds is reported.
        if (spec && rows && (source === 'config' || rows.capk || rows.aid))
          paramChecks = paramsChecks(paramsView(rows, spec));
      } catch {
        // an unknown dialect is the configuration check's finding
      }
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
      for (const c of paramChecks) add(c);
    } catch (e) {
      add({
        name: 'journal integrity',
        status: 'fail',
        detail: (e as Error).message,
        fix:
          e instanceof StateAccessError ? PERMISSION_FIX : 'check the state directory path and permissions',
      });
    }
  } else if (dirProbe.kind === 'ok')
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
  else if (!host) {
    // The demo runs its own host simulator (checked through the running demo: sign-on below).
    if (!demo)
      add({
        name: 'acquirer host',
        status: 'warn',
        detail: 'not checked (no --config given)',
        fix: 'run with --config <file>',
      });
  } else {
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
        detail: `no ${demo ? 'demo' : 'daemon'} running: sign-on and clock skew not checked`,
        fix: demo
          ? 'start the demo (npm start, or posbridge-sim demo --home <dir>) and run doctor again'
          : 'start the daemon and run doctor again',
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
  // Bluetooth matters only for a Bluetooth reader: a warning only when one is configured.
  const wantsBle = config.readers.some((r) => r.transport === 'ble');
  const bt = await bluetoothAvailability({ timeoutMs: 2000, logger: quiet });
  const unconfigured =
    source === 'config' || demo
      ? 'not used: no Bluetooth reader configured'
      : 'needed only by a Bluetooth reader (--config checks against the configuration)';
  if (bt.ok)
    add({
      name: 'Bluetooth',
      status: 'pass',
      detail: 'adapter powered on',
    });
  else if (wantsBle)
    add({
      name: 'Bluetooth',
      status: 'fail',
      detail: `${bluetoothProblem(bt.message)} (${bt.reason})`,
      fix: 'see docs/bluetooth.md: adapter, BlueZ, permissions',
    });
  else
    add({
      name: 'Bluetooth',
      status: 'pass',
      detail: `${unconfigured}; no usable adapter here (${bt.reason})`,
    });
  // The fleet hub, only when this daemon is enrolled with one.
  const hubCheck = await checkHub(dir);
  if (hubCheck) add(hubCheck);
  return checks;
}

/** The Bluetooth problem in one line: its code prefixes and the pointer to the docs (the fix has it) dropped. */
function bluetoothProblem(message: string): string {
  return plainMessage(message, { all: true }).replace(/;? see docs\/bluetooth\.md/, '');
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

/** Enrolled with a fleet hub: reachable, and the credential still accepted (docs/fleet.md). */
async function checkHub(stateDir: string): Promise<Check | undefined> {
  let cred;
  try {
    cred = readHubCredential(stateDir);
  } catch (e) {
    return {
      name: 'fleet hub',
      status: 'fail',
      detail: (e as Error).message,
      fix: 'posbridge hub-enrol --hub <url> --code <code>',
    };
  }
  if (!cred) return undefined;
  try {
    const res = await fetch(new URL('/v1/cursor?journal=doctor-check', cred.url), {
      headers: { authorization: `Bearer ${cred.credential}` },
      signal: AbortSignal.timeout(3000),
    });
    if (res.status === 401)
      return {
        name: 'fleet hub',
        status: 'fail',
        detail: `${cred.url} refuses this daemon (${cred.daemonId}): revoked or unknown`,
        fix: 'ask operations for a new code and run posbridge hub-enrol again',
      };
    if (!res.ok)
      return {
        name: 'fleet hub',
        status: 'warn',
        detail: `${cred.url} answered ${res.status}`,
        fix: 'check the hub (posbridge hub serve) and its log',
      };
    return {
      name: 'fleet hub',
      status: 'pass',
      detail: `${cred.url} as ${cred.daemonId} (store ${cred.store})`,
    };
  } catch (e) {
    return {
      name: 'fleet hub',
      status: 'warn',
      detail: `${cred.url} does not answer (${(e as Error).message}); events wait in the journal`,
      fix: 'check the network to the hub; nothing is lost while it is away',
    };
  }
}
