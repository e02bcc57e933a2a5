/**
 * `posbridge keys status | rewrap`: where the key-encrypting key (KEK) is, whether the state directory's
 * key files are wrapped under it, and moving them to another KEK (rotation, or from a key file to the OS
 * credential store). The data-encrypting keys themselves do not change, so sealed PANs and stored
 * fingerprints stay valid. Run it with the daemon stopped (it takes the state directory's lock).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { FINGERPRINT_KEY_FILE, loadOrCreateFingerprintKey } from '../card/index.js';
import { isWrapped, KeyEncryptionKey, SEAL_KEY_FILE_NAME, Sealer, type KekSource } from '../crypto/index.js';
import { StateDirLock } from '../journal/index.js';
import { badValue, parseCommandArgs, UsageError, withUsage } from './cli-args.js';
import { keyStoreForStateDir } from './config.js';
import { EXIT } from './failures.js';
import { helpFor, usageOf } from './usage.js';

const USAGE = usageOf('keys');

export async function keysCommand(argv: string[], home: (v: { home?: string }) => string): Promise<number> {
  return withUsage('posbridge keys', USAGE, () => keys(argv, home));
}

async function keys(argv: string[], home: (v: { home?: string }) => string): Promise<number> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: {
      home: { type: 'string' },
      to: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [sub, ...extra] = positionals;
  if (values.help) {
    process.stdout.write(`${helpFor('keys', positionals) ?? USAGE}\n`);
    return EXIT.ok;
  }
  if (!sub) throw new UsageError('give a subcommand: status or rewrap');
  if (sub !== 'status' && sub !== 'rewrap')
    throw new UsageError(`unknown subcommand ${JSON.stringify(sub)}: status or rewrap`);
  if (extra.length) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
  const stateDir = home(values);
  const from = keyStoreForStateDir(stateDir);
  if (sub === 'status') {
    const files = [SEAL_KEY_FILE_NAME, FINGERPRINT_KEY_FILE].map((f) => {
      try {
        return `${f}: ${isWrapped(readFileSync(resolve(stateDir, f))) ? 'wrapped' : 'CLEAR (wrapped at the next start)'}`;
      } catch {
        return `${f}: not created yet`;
      }
    });
    const kek = await KeyEncryptionKey.load(from, { stateDir, create: false });
    process.stdout.write(
      `key-encrypting key: ${describeSource(from)}, id ${kek.id}\n${files.join('\n')}\n` +
        (from.kind === 'file'
          ? 'warning: a key file is weaker than the OS credential store: keep it off backups of the state directory\n'
          : ''),
    );
    return EXIT.ok;
  }
  if (sub === 'rewrap') {
    const to = parseTarget(values.to);
    if (!to)
      throw values.to === undefined
        ? new UsageError('rewrap needs --to os or --to file:<path> (where the key-encrypting key goes)')
        : badValue(`--to must be os or file:<path>, got ${JSON.stringify(values.to)}`);
    const lock = StateDirLock.acquire(stateDir);
    try {
      const oldKek = await KeyEncryptionKey.load(from, { stateDir, create: false });
      const newKek = await KeyEncryptionKey.load(to, { stateDir });
      // Read everything under the old KEK first: nothing is rewritten unless all of it opens.
      const sealer = await Sealer.load(stateDir, { kek: oldKek });
      const fp = await loadOrCreateFingerprintKey(stateDir, { protector: oldKek });
      await sealer.rewrap(newKek);
      await fp.rewrap(newKek);
      process.stdout.write(
        `rewrapped ${SEAL_KEY_FILE_NAME} and ${FINGERPRINT_KEY_FILE} from ${describeSource(from)} (id ${oldKek.id}) to ${describeSource(to)} (id ${newKek.id})\n` +
          (to.kind === 'file'
            ? `set POSBRIDGE_KEY_FILE=${to.path} (or keyStore in the configuration) from now on\n`
            : '') +
          // Commands without a configuration take a key file beside the state directory when there is one.
          (from.kind === 'file' &&
          from.path === `${resolve(stateDir)}.kek` &&
          !(to.kind === 'file' && to.path === from.path)
            ? `the old key file ${from.path} no longer opens the key files: delete it, or commands without --config keep finding it\n`
            : ''),
      );
      return EXIT.ok;
    } finally {
      lock.release();
    }
  }
  return EXIT.usage;
}

function parseTarget(to: string | undefined): KekSource | undefined {
  if (to === 'os') return { kind: 'os' };
  if (to?.startsWith('file:') && to.length > 5) return { kind: 'file', path: resolve(to.slice(5)) };
  return undefined;
}

function describeSource(s: KekSource): string {
  return s.kind === 'os' ? 'the OS credential store' : `key file ${s.path}`;
}
