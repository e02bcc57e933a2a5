/** One problem in a data file, with the JSON pointer of the offending value. */
export interface DataProblem {
  path: string;
  message: string;
}

/** A data file under protocols/emv is invalid; `problems` lists every problem found, each with its path. */
export class EmvDataError extends Error {
  readonly code: 'invalid_tag_dictionary' | 'invalid_profile' | 'invalid_aid_table' | 'unknown_profile';
  readonly file: string;
  readonly problems: readonly DataProblem[];
  /** JSON pointer of the first problem. */
  readonly path: string;

  constructor(code: EmvDataError['code'], file: string, problems: readonly DataProblem[]) {
    super(
      `${code}: ${file}: ${problems.length} problem(s): ${problems
        .map((p) => `${p.path || '/'} ${p.message}`)
        .join('; ')}`,
    );
    this.name = 'EmvDataError';
    this.code = code;
    this.file = file;
    this.problems = problems;
    this.path = problems[0]?.path ?? '';
  }
}

/** Small helpers for hand-written validation (the emv module uses no schema library). */
export class ProblemList {
  readonly items: DataProblem[] = [];
  add(path: string, message: string): void {
    this.items.push({ path, message });
  }
  get empty(): boolean {
    return this.items.length === 0;
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function checkKeys(
  obj: Record<string, unknown>,
  path: string,
  allowed: readonly string[],
  problems: ProblemList,
): void {
  for (const k of Object.keys(obj))
    if (!allowed.includes(k)) problems.add(`${path}/${k}`, 'is not a known property');
}
