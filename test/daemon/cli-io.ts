/** Runs a CLI entry point in this process with stdout and stderr captured (no child process: fast). */
import { vi } from 'vitest';
import { describeFailure } from '../../src/daemon/failures.js';

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `run(argv)` as the executable would: a rejection is what cli.ts prints (one line, its exit
 * code). Output written through process.stdout / process.stderr is captured.
 */
export async function inProcess(
  run: (argv: string[]) => Promise<number> | number,
  argv: string[],
  program = 'posbridge',
): Promise<Ran> {
  const out: string[] = [];
  const err: string[] = [];
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
    out.push(String(s));
    return true;
  });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
    err.push(String(s));
    return true;
  });
  try {
    let code: number;
    try {
      code = await run(argv);
    } catch (failure) {
      const f = describeFailure(failure);
      err.push(`${program}: ${f.message}\n`);
      code = f.exitCode;
    }
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}
