/**
 * Issuer Script Results (EMV Book 4 Annex A5; UnionPay carries the same bytes in DF31, EMV in 9F5B):
 * 5 bytes per script.
 *   byte 1, bits 8-5: 0 not performed, 1 processing failed, 2 processing successful
 *   byte 1, bits 4-1: sequence number of the failing command (0 not specified, 1-E, F for 15 and above)
 *   bytes 2-5: the script identifier (9F18), zeros when the script had none
 */
import { toHex } from './hex.js';
import { fail, ok, type EmvResult } from './result.js';
import { tlv, type Tlv } from './tlv.js';

export type ScriptOutcome = 'not_performed' | 'failed' | 'succeeded';

export interface ScriptResult {
  outcome: ScriptOutcome;
  /** 1-based position of the command that failed (only for `failed`; omitted or 0 = not specified). */
  failedCommand?: number;
  /** 9F18 of the script (4 bytes); zeros are sent when absent. */
  scriptId?: Uint8Array;
}

const OUTCOME_CODE: Record<ScriptOutcome, number> = { not_performed: 0, failed: 1, succeeded: 2 };
const OUTCOMES: readonly ScriptOutcome[] = ['not_performed', 'failed', 'succeeded'];

export interface ScriptResultsError {
  code: 'bad_script_id' | 'bad_sequence' | 'bad_length' | 'bad_outcome';
  message: string;
  /** Index of the script result at fault. */
  index: number;
}

/** The 5-byte-per-script value. */
export function encodeScriptResults(results: readonly ScriptResult[]): EmvResult<Buffer, ScriptResultsError> {
  const out = Buffer.alloc(results.length * 5);
  for (let i = 0; i < results.length; i++) {
    const r = results[i]!;
    const code = OUTCOME_CODE[r.outcome];
    if (code === undefined)
      return fail({ code: 'bad_outcome', message: `result ${i}: unknown outcome`, index: i });
    let seq = 0;
    if (r.failedCommand !== undefined) {
      if (!Number.isInteger(r.failedCommand) || r.failedCommand < 0)
        return fail({
          code: 'bad_sequence',
          message: `result ${i}: failedCommand must be a non-negative integer`,
          index: i,
        });
      if (r.outcome === 'failed') seq = Math.min(r.failedCommand, 15);
    }
    out[i * 5] = (code << 4) | seq;
    if (r.scriptId !== undefined) {
      if (r.scriptId.length !== 4)
        return fail({
          code: 'bad_script_id',
          message: `result ${i}: script identifier must be 4 bytes`,
          index: i,
        });
      out.set(r.scriptId, i * 5 + 1);
    }
  }
  return ok(out);
}

/** The results as a TLV element: UnionPay DF31 (default) or EMV 9F5B. */
export function scriptResultsTlv(
  results: readonly ScriptResult[],
  tag: 'DF31' | '9F5B' = 'DF31',
): EmvResult<Tlv, ScriptResultsError> {
  const v = encodeScriptResults(results);
  return v.ok ? ok(tlv(tag, v.value)) : v;
}

export interface DecodedScriptResult {
  outcome: ScriptOutcome | 'rfu';
  /** 0 = not specified; 15 means 15 or above. */
  sequence: number;
  scriptId: Buffer;
  scriptIdHex: string;
}

/** Reads a DF31/9F5B value. */
export function decodeScriptResults(value: Uint8Array): EmvResult<DecodedScriptResult[], ScriptResultsError> {
  if (value.length % 5 !== 0)
    return fail({
      code: 'bad_length',
      message: `script results are 5 bytes each, got ${value.length}`,
      index: Math.floor(value.length / 5),
    });
  const out: DecodedScriptResult[] = [];
  for (let i = 0; i < value.length; i += 5) {
    const b = value[i]!;
    const scriptId = Buffer.from(value.subarray(i + 1, i + 5));
    out.push({
      outcome: OUTCOMES[b >> 4] ?? 'rfu',
      sequence: b & 0x0f,
      scriptId,
      scriptIdHex: toHex(scriptId),
    });
  }
  return ok(out);
}
