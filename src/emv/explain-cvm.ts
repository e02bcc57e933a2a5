import { toHex } from './hex.js';
import { cvmConditionName, cvmMethodName, cvmResultName } from './explain-tables.js';
import { finish, type Explanation } from './explain-types.js';

export interface CvmResultsDetails {
  method?: { code: number; name: string };
  /** Byte 1 bit 7: apply the succeeding CV rule if this CVM is unsuccessful. */
  applySucceedingRuleIfUnsuccessful?: boolean;
  condition?: { code: number; name: string };
  result?: { code: number; name: string };
}

/** 9F34 CVM Results (EMV Book 4, Annex A4): method performed, its condition, and the outcome. */
export function explainCvmResults(value: Uint8Array): Explanation<CvmResultsDetails> {
  const hex = toHex(value);
  if (value.length !== 3) {
    return finish('9F34', 'CVM Results', hex, {}, [], `expected 3 bytes, got ${value.length}`);
  }
  const [b1, b2, b3] = [value[0]!, value[1]!, value[2]!];
  const method = { code: b1 & 0x3f, name: cvmMethodName(b1 & 0x3f) };
  const applySucceedingRuleIfUnsuccessful = (b1 & 0x40) !== 0;
  const condition = { code: b2, name: cvmConditionName(b2) };
  const result = { code: b3, name: cvmResultName(b3) };
  const lines = [
    `method: ${method.name}${applySucceedingRuleIfUnsuccessful ? ' (apply succeeding rule if unsuccessful)' : ''}`,
    `condition: ${condition.name}`,
    `result: ${result.name}`,
  ];
  return finish(
    '9F34',
    'CVM Results',
    hex,
    { method, applySucceedingRuleIfUnsuccessful, condition, result },
    lines,
  );
}
