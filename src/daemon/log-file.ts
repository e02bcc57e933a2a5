import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';

/**
 * Size-rotated log file in the state directory: posbridge.log, posbridge.log.1 ... .N. Synchronous
 * writes (pino lines are small) so a crash loses nothing already logged.
 */
export class RotatingLogFile extends Writable {
  private fd: number;
  private size: number;
  readonly path: string;

  constructor(
    dir: string,
    private readonly maxBytes = 10 * 1024 * 1024,
    private readonly keep = 5,
    name = 'posbridge.log',
  ) {
    super();
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.path = join(dir, name);
    this.fd = openSync(this.path, 'a', 0o600);
    this.size = fstatSync(this.fd).size;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    try {
      if (this.size + chunk.length > this.maxBytes) this.rotate();
      writeSync(this.fd, chunk);
      this.size += chunk.length;
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }

  private rotate(): void {
    closeSync(this.fd);
    const last = `${this.path}.${this.keep}`;
    if (existsSync(last)) unlinkSync(last);
    for (let i = this.keep - 1; i >= 1; i--)
      if (existsSync(`${this.path}.${i}`)) renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
    renameSync(this.path, `${this.path}.1`);
    this.fd = openSync(this.path, 'a', 0o600);
    this.size = 0;
  }

  override _final(cb: (e?: Error | null) => void): void {
    closeSync(this.fd);
    cb();
  }
}

/** A one-line human rendering of a pino JSON line, for a terminal (no colours needed to be readable). */
export function prettyLine(line: string): string {
  try {
    const o = JSON.parse(line) as Record<string, unknown>;
    const { level, time, msg, name: _n, pid: _p, hostname: _h, ...rest } = o;
    const lv =
      (
        { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' } as Record<
          string,
          string
        >
      )[String(level)] ?? String(level);
    const t = typeof time === 'number' ? new Date(time).toISOString().slice(11, 23) : '';
    const extra = Object.entries(rest)
      .filter(([, v]) => v !== undefined && typeof v !== 'object')
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(' ');
    return `${t} ${lv} ${String(msg ?? '')}${extra ? `  ${extra}` : ''}\n`;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
}

/** Writes each pino line to the log file, and a pretty copy to a terminal when there is one. */
export class TeeDestination extends Writable {
  constructor(
    private readonly file: Writable,
    private readonly terminal: NodeJS.WriteStream | undefined,
  ) {
    super();
  }

  override _write(chunk: Buffer, enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.file.write(chunk, enc);
    if (this.terminal)
      for (const line of chunk.toString('utf8').split('\n')) if (line) this.terminal.write(prettyLine(line));
    cb();
  }
}
