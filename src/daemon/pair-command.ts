/**
 * `posbridge pair` and `posbridge tokens`: pairing a CRM page and managing paired tokens (see
 * pairing.ts). A pairing code comes from the running daemon (a loopback admin route authenticated with
 * the token file); listing and revoking tokens go through the running daemon too (revoking closes the
 * token's open sessions), or, when none runs, work on the state directory's `paired-tokens.json`
 * directly under the state directory's lock.
 */
import { StateDirLock } from '../journal/index.js';
import { parseCommandArgs, processIo, UsageError, withUsage, type CommandIo } from './cli-args.js';
import { defaultStateDir } from './config.js';
import { EXIT, StateAccessError } from './failures.js';
import { Pairing, type IssuedCode, type PairedToken } from './pairing.js';
import { adminCall, runningDaemon } from './running.js';
import { probe } from './state-dir.js';
import { helpFor, usageOf } from './usage.js';

export type { CommandIo } from './cli-args.js';

const PAIR_HELP = usageOf('pair');
const TOKENS_HELP = usageOf('tokens');

/** `posbridge pair` */
export async function pairCommand(args: string[], io: CommandIo = processIo): Promise<number> {
  return withUsage('posbridge pair', PAIR_HELP, () => pair(args, io), io);
}

async function pair(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseCommandArgs({
    args,
    options: {
      home: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.out(PAIR_HELP);
    return EXIT.ok;
  }
  const home = values.home ?? defaultStateDir();
  const d = runningDaemon(home);
  if (!d) {
    io.err(
      `posbridge is not running for ${home}: pairing codes come from the running daemon.\n` +
        'Start it (posbridge start --config <file>), then run posbridge pair again.',
    );
    return EXIT.notRunning;
  }
  const r = await adminCall(d, 'POST', '/admin/pair');
  if (r.status !== 200) {
    io.err(`the daemon refused to issue a code (HTTP ${r.status})`);
    return EXIT.problem;
  }
  const issued = r.json as IssuedCode;
  if (values.json) {
    io.out(JSON.stringify(issued));
    return EXIT.ok;
  }
  const until = new Date(issued.expiresAt).toLocaleTimeString();
  io.out(
    `Pairing code: ${issued.code.slice(0, 3)} ${issued.code.slice(3)}\n` +
      `Valid until ${until} (${Math.round(issued.ttlSeconds / 60)} minutes), once. Type it into the CRM page.\n` +
      "The page's Origin must already be in allowedOrigins: pairing never adds one.",
  );
  return EXIT.ok;
}

function table(tokens: PairedToken[]): string {
  if (!tokens.length) return 'no paired pages';
  const rows = [['ID', 'ORIGIN', 'CREATED', 'LAST USED']].concat(
    tokens.map((t) => [t.id, t.origin, t.created, t.lastUsed ?? 'never']),
  );
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Runs `fn` on the state directory's paired tokens when no daemon runs (holding its lock). */
function offline<T>(home: string, fn: (p: Pairing) => T): T {
  const lock = StateDirLock.acquire(home);
  try {
    return fn(new Pairing({ dir: home }));
  } finally {
    lock.release();
  }
}

/** `posbridge tokens` and `posbridge tokens revoke <id>` */
export async function tokensCommand(args: string[], io: CommandIo = processIo): Promise<number> {
  return withUsage('posbridge tokens', TOKENS_HELP, () => tokens(args, io), io);
}

async function tokens(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseCommandArgs({
    args,
    allowPositionals: true,
    options: {
      home: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [sub, id, ...extra] = positionals;
  if (values.help) {
    io.out(helpFor('tokens', positionals) ?? TOKENS_HELP);
    return EXIT.ok;
  }
  if (sub !== undefined && sub !== 'revoke')
    throw new UsageError(
      `unknown subcommand ${JSON.stringify(sub)}: tokens lists, tokens revoke <id> revokes`,
    );
  if (sub === 'revoke' && !id)
    throw new UsageError('revoke needs the token id (posbridge tokens lists them)');
  if (extra.length) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
  const home = values.home ?? defaultStateDir();
  const d = runningDaemon(home);
  const dir = d ? undefined : probe(home);
  if (dir?.kind === 'denied') throw new StateAccessError(home, dir.code);
  if (dir?.kind === 'missing') {
    io.err(`no state directory ${home}: it is created on the first \`posbridge start\``);
    return EXIT.problem;
  }
  if (sub === 'revoke') {
    let closed: number | undefined;
    if (d) {
      const r = await adminCall(d, 'DELETE', `/admin/tokens/${encodeURIComponent(id!)}`);
      closed = r.status === 200 ? (r.json as { sessionsClosed: number }).sessionsClosed : undefined;
      if (r.status !== 200 && r.status !== 404) {
        io.err(`the daemon refused (HTTP ${r.status})`);
        return EXIT.problem;
      }
    } else closed = offline(home, (p) => p.revoke(id!));
    if (closed === undefined) {
      io.err(`no paired token ${id!}`);
      return EXIT.problem;
    }
    io.out(`revoked ${id!}${d ? ` (closed ${closed} open session${closed === 1 ? '' : 's'})` : ''}`);
    return EXIT.ok;
  }
  let list: PairedToken[];
  if (d) {
    const r = await adminCall(d, 'GET', '/admin/tokens');
    if (r.status !== 200) {
      io.err(`the daemon refused (HTTP ${r.status})`);
      return EXIT.problem;
    }
    list = (r.json as { tokens: PairedToken[] }).tokens;
  } else list = offline(home, (p) => p.list());
  io.out(values.json ? JSON.stringify(list, null, 2) : table(list));
  return EXIT.ok;
}
