import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { JournalError } from './errors.js';

export const LOCK_FILE = 'posbridge.lock';

/**
 * One process owns a state directory at a time. The lock file holds the owner's pid; a lock whose
 * process is gone (crash, SIGKILL) is taken over, so a restart after a crash never needs a human.
 */
export class StateDirLock {
  private constructor(
    readonly path: string,
    private fd: number | undefined,
  ) {}

  static acquire(stateDir: string): StateDirLock {
    const path = join(stateDir, LOCK_FILE);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx', 0o600);
        writeSync(fd, `${process.pid}\n`);
        return new StateDirLock(path, fd);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const owner = Number.parseInt(safeRead(path), 10);
        if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
          throw new JournalError(
            'state_dir_locked',
            `state directory is in use by process ${owner}`,
            stateDir,
          );
        }
        // Stale (or our own earlier, unreleased lock): take it over.
        try {
          unlinkSync(path);
        } catch {
          // Someone else removed it first; retry the exclusive create.
        }
      }
    }
    throw new JournalError('state_dir_locked', 'could not take over a stale lock', stateDir);
  }

  /** The pid holding the lock of `stateDir`, if a live process does. */
  static owner(stateDir: string): number | undefined {
    const pid = Number.parseInt(safeRead(join(stateDir, LOCK_FILE)), 10);
    return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
  }

  release(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
