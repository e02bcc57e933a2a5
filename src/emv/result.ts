/** Errors as values: every fallible operation of the emv module outside the codec returns one of these. */
export type EmvResult<T, E extends { code: string; message: string }> =
  { ok: true; value: T } | { ok: false; error: E };

export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

export function fail<E extends { code: string; message: string }>(error: E): { ok: false; error: E } {
  return { ok: false, error };
}
