/**
 * `posbridge hub …` (the fleet service, docs/fleet.md) and `posbridge hub-enrol` (a daemon joins it).
 *
 *   posbridge hub serve [--port 7590] [--host 127.0.0.1] [--data <dir>]
 *       PostgreSQL from DATABASE_URL, else PGlite in <data> (default POSBRIDGE_HUB_HOME or
 *       ~/.posbridge-hub). POSBRIDGE_HUB_ADMIN_PASSWORD sets the dashboard user `admin`. Writes
 *       <data>/hub.json (url + admin token, 0600) for the commands below.
 *   posbridge hub code --store <s> [--name <n>]      a one-time enrolment code (through the running hub)
 *   posbridge hub revoke <daemonId>                 refuse a daemon's credential from now on
 *   posbridge hub-enrol --hub <url> --code <code>   this laptop's daemon joins the hub
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { startHubService } from '../hub/index.js';
import { badValue, parseCommandArgs, UsageError, withUsage } from './cli-args.js';
import { defaultStateDir, loadConfigFile } from './config.js';
import { CliFailure, EXIT, parsePortOption } from './failures.js';
import { enrolWithHub } from './hub-wiring.js';
import { helpFor, usageOf } from './usage.js';

const HUB_HELP = usageOf('hub');

export const defaultHubHome = (): string =>
  resolve(process.env['POSBRIDGE_HUB_HOME'] ?? join(homedir(), '.posbridge-hub'));

interface RunningHub {
  url: string;
  adminToken: string;
}

function runningHub(data: string): RunningHub | undefined {
  try {
    return JSON.parse(readFileSync(join(data, 'hub.json'), 'utf8')) as RunningHub;
  } catch {
    return undefined;
  }
}

async function adminPost(
  data: string,
  path: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const hub = runningHub(data);
  if (!hub)
    throw new CliFailure(
      EXIT.notRunning,
      `no hub is running for ${data}: start it (posbridge hub serve --data ${data}), or give --data <dir> of the running one`,
    );
  let res: Response;
  try {
    res = await fetch(new URL(path, hub.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${hub.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch {
    throw new CliFailure(EXIT.notRunning, `the hub at ${hub.url} does not answer: is it running?`);
  }
  return { status: res.status, json: (await res.json().catch(() => ({}))) as Record<string, unknown> };
}

export async function hubCommand(args: string[]): Promise<number> {
  const sub = args[0];
  const usage = (sub !== undefined && helpFor('hub', [sub])) || HUB_HELP;
  return withUsage(sub && !sub.startsWith('-') ? `posbridge hub ${sub}` : 'posbridge hub', usage, () =>
    hub(args),
  );
}

async function hub(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === '--help' || sub === '-h') {
    process.stdout.write(`${HUB_HELP}\n`);
    return EXIT.ok;
  }
  if (sub === undefined) throw new UsageError('give a subcommand: serve, code or revoke');
  try {
    switch (sub) {
      case 'serve':
        return await serve(rest);
      case 'code': {
        const { values } = parseCommandArgs({
          args: rest,
          options: {
            store: { type: 'string' },
            name: { type: 'string' },
            data: { type: 'string' },
            home: { type: 'string' },
            help: { type: 'boolean', short: 'h' },
          },
        });
        if (values.help) {
          process.stdout.write(`${helpFor('hub', ['code'])}\n`);
          return EXIT.ok;
        }
        if (!values.store) throw new UsageError('needs --store <store> (the store the laptop belongs to)');
        const r = await adminPost(values.data ?? values.home ?? defaultHubHome(), '/api/enrol-codes', {
          store: values.store,
          ...(values.name ? { name: values.name } : {}),
        });
        process.stdout.write(`${JSON.stringify(r.json, null, 2)}\n`);
        return r.status < 300 ? EXIT.ok : EXIT.problem;
      }
      case 'revoke': {
        const { values, positionals } = parseCommandArgs({
          args: rest,
          allowPositionals: true,
          options: {
            data: { type: 'string' },
            home: { type: 'string' },
            help: { type: 'boolean', short: 'h' },
          },
        });
        if (values.help) {
          process.stdout.write(`${helpFor('hub', ['revoke'])}\n`);
          return EXIT.ok;
        }
        if (positionals.length !== 1)
          throw new UsageError(
            positionals.length
              ? `takes one daemon id, got ${positionals.length}`
              : 'needs the daemon id (d_…, on the hub dashboard)',
          );
        const r = await adminPost(
          values.data ?? values.home ?? defaultHubHome(),
          `/api/daemons/${encodeURIComponent(positionals[0]!)}/revoke`,
          {},
        );
        process.stdout.write(`${JSON.stringify(r.json, null, 2)}\n`);
        return r.status < 300 ? EXIT.ok : EXIT.problem;
      }
      default:
        throw new UsageError(
          sub.startsWith('-')
            ? `give the subcommand first (serve, code or revoke), then ${sub}`
            : `unknown subcommand ${JSON.stringify(sub)}: serve, code or revoke`,
        );
    }
  } catch (e) {
    if (e instanceof CliFailure && e.exitCode === EXIT.notRunning) {
      process.stderr.write(`posbridge hub: ${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  }
}

async function serve(args: string[]): Promise<number> {
  const { values } = parseCommandArgs({
    args,
    options: {
      port: { type: 'string', default: '7590' },
      host: { type: 'string', default: '127.0.0.1' },
      data: { type: 'string' },
      home: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${helpFor('hub', ['serve'])}\n`);
    return EXIT.ok;
  }
  const port = parsePortOption(values.port, '--port', '7590');
  const data = resolve(values.data ?? values.home ?? defaultHubHome());
  mkdirSync(data, { recursive: true, mode: 0o700 });
  const databaseUrl = process.env['DATABASE_URL'];
  const log = pino({ base: { name: 'posbridge-hub' } }, pino.destination({ fd: 2, sync: false }));
  const password = process.env['POSBRIDGE_HUB_ADMIN_PASSWORD'];
  const hub = await startHubService({
    port,
    host: values.host,
    ...(databaseUrl ? { databaseUrl } : { dataDir: join(data, 'pglite') }),
    ...(password ? { admin: { name: 'admin', password } } : {}),
    issueAdminToken: true,
    log,
  });
  const file = join(data, 'hub.json');
  writeFileSync(
    `${file}.tmp`,
    JSON.stringify({ url: hub.url, adminToken: hub.adminToken, pid: process.pid }),
    { mode: 0o600 },
  );
  chmodSync(`${file}.tmp`, 0o600);
  renameSync(`${file}.tmp`, file);
  process.stdout.write(`${JSON.stringify({ ready: true, hub: hub.port, db: hub.db.kind, url: hub.url })}\n`);
  if (!password)
    process.stderr.write(
      'posbridge hub: no dashboard user set (POSBRIDGE_HUB_ADMIN_PASSWORD=… sets "admin")\n',
    );
  const signal = await new Promise<string>((r) => {
    process.once('SIGTERM', () => r('SIGTERM'));
    process.once('SIGINT', () => r('SIGINT'));
  });
  process.stderr.write(`posbridge hub: stopping (${signal})\n`);
  await hub.close();
  try {
    unlinkSync(file);
  } catch {
    // gone
  }
  return EXIT.ok;
}

export async function hubEnrolCommand(args: string[]): Promise<number> {
  return withUsage('posbridge hub-enrol', usageOf('hub-enrol'), () => hubEnrol(args));
}

async function hubEnrol(args: string[]): Promise<number> {
  const { values } = parseCommandArgs({
    args,
    options: {
      hub: { type: 'string' },
      code: { type: 'string' },
      home: { type: 'string' },
      config: { type: 'string' },
      name: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${usageOf('hub-enrol')}\n`);
    return EXIT.ok;
  }
  const missing = [!values.hub && '--hub <url>', !values.code && '--code <code>'].filter(Boolean);
  if (missing.length)
    throw new UsageError(
      `needs ${missing.join(' and ')} (operations give the code: posbridge hub code on the hub)`,
    );
  if (!/^https?:\/\//.test(values.hub!))
    throw badValue(`--hub must be the hub's http(s) URL, got ${JSON.stringify(values.hub)}`);
  const config = values.config ? loadConfigFile(values.config) : undefined;
  const stateDir = values.home ?? process.env['POSBRIDGE_HOME'] ?? config?.stateDir ?? defaultStateDir();
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  try {
    const r = await enrolWithHub({
      url: values.hub!,
      code: values.code!,
      stateDir,
      terminalIds: config ? [config.terminalId] : [],
      ...(values.name ? { name: values.name } : {}),
    });
    process.stdout.write(`${JSON.stringify({ enrolled: true, ...r, stateDir })}\n`);
    return EXIT.ok;
  } catch (e) {
    process.stderr.write(`posbridge hub-enrol: ${(e as Error).message}\n`);
    return EXIT.problem;
  }
}
