import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Where counters live. File-backed for now; the journal implements the same interface later. */
export interface CounterStore {
  get(name: string): number | undefined;
  /** Durable before it returns: a STAN handed out is never handed out again after a crash. */
  set(name: string, value: number): void;
}

export class MemoryCounterStore implements CounterStore {
  private readonly values = new Map<string, number>();
  get(name: string): number | undefined {
    return this.values.get(name);
  }
  set(name: string, value: number): void {
    this.values.set(name, value);
  }
}

/** A JSON file rewritten atomically (temp file, fsync, rename, fsync of the directory) on every change. */
export class FileCounterStore implements CounterStore {
  private values: Record<string, number>;

  constructor(private readonly path: string) {
    this.values = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, number>) : {};
  }

  get(name: string): number | undefined {
    return this.values[name];
  }

  set(name: string, value: number): void {
    this.values = { ...this.values, [name]: value };
    const tmp = join(dirname(this.path), `.${process.pid}.counters.tmp`);
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(this.values));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    try {
      const dfd = openSync(dirname(this.path), 'r');
      fsyncSync(dfd);
      closeSync(dfd);
    } catch {
      // Directory fsync is not available on every platform; the rename is still atomic.
    }
  }
}

/** A counter that runs from 1 to `max` and wraps to 1 (never 0): STAN 000001..999999, batch 000001..999999. */
export class Counter {
  constructor(
    private readonly store: CounterStore,
    private readonly name: string,
    private readonly max = 999_999,
    private readonly width = 6,
  ) {}

  /** The last value handed out (0 before the first). */
  get current(): number {
    return this.store.get(this.name) ?? 0;
  }

  /** Advances, persists, and returns the new value as zero-padded digits. */
  next(): string {
    const n = this.current >= this.max ? 1 : this.current + 1;
    this.store.set(this.name, n);
    return String(n).padStart(this.width, '0');
  }

  /** Sets the counter (a host may move the batch number at sign-on). */
  set(value: number): void {
    if (!Number.isInteger(value) || value < 0 || value > this.max)
      throw new RangeError(`${this.name} out of range`);
    this.store.set(this.name, value);
  }
}
