/**
 * `posbridge pair` and `posbridge tokens`: pairing a CRM page and managing paired tokens (see
 * pairing.ts). A pairing code comes from the running daemon (a loopback admin route authenticated with
 * the token file); listing and revoking tokens go through the running daemon too (revoking closes the
 * token's open sessions), or, when none runs, work on the state directory's `paired-tokens.json`
 * directly under the state directory's lock.
 */
import { parseArgs } from 'node:util';
import { StateDirLock } from '../journal/index.js';
import { defaultStateDir } from './config.js';
import { EXIT, StateAccessError } from './failures.js';
import { Pairing, type IssuedCode, type PairedToken } from './pairing.js';
import { adminCall, runningDaemon } from './running.js';
import { probe } from './state-dir.js';

export interface CommandIo {
  out(text: string): void;
  err(text: string): void;
}

const processIo: CommandIo = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
};

const PAIR_HELP = `usage: posbridge pair [--home <dir>] [--json]
Shows a one-time pairing code (6 digits, valid 3 minutes, single use) from the running daemon, also on
the card reader's display. Type it into the CRM page: it sends session.pair and keeps the token it gets,
bound to the page's Origin. The Origin must already be in allowedOrigins: pairing never adds one.`;

const TOKENS_HELP = `usage: posbridge tokens [--home <dir>] [--json]
       posbridge tokens revoke <id> [--home <dir>]
Lists the paired CRM pages' tokens (id, Origin, created, last used; never the token), or revokes one:
its open sessions are closed at once. The token file (posbridge token) is not a paired token.`;

/** `posbridge pair` */
export async function pairCommand(args: string[], io: CommandIo = processIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      home: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
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
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      home: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  const [sub, id, ...extra] = positionals;
  if (values.help || (sub !== undefined && sub !== 'revoke') || (sub === 'revoke' && !id) || extra.length) {
    (values.help ? io.out : io.err)(TOKENS_HELP);
    return values.help ? EXIT.ok : EXIT.usage;
  }
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
  let tokens: PairedToken[];
  if (d) {
    const r = await adminCall(d, 'GET', '/admin/tokens');
    if (r.status !== 200) {
      io.err(`the daemon refused (HTTP ${r.status})`);
      return EXIT.problem;
    }
    tokens = (r.json as { tokens: PairedToken[] }).tokens;
  } else tokens = offline(home, (p) => p.list());
  io.out(values.json ? JSON.stringify(tokens, null, 2) : table(tokens));
  return EXIT.ok;
}
