import type { CardScheme } from '../card/index.js';
import { explainCid } from './explain-cid.js';
import { explainCvmResults } from './explain-cvm.js';
import { explainFormFactor } from './explain-form-factor.js';
import { explainTerminalCapabilities, explainTsi, explainTvr } from './explain-bit-values.js';
import type { Explanation } from './explain-types.js';

export { explainTvr, explainTsi, explainTerminalCapabilities } from './explain-bit-values.js';
export { explainCid, type CidDetails, type CryptogramType } from './explain-cid.js';
export { explainCvmResults, type CvmResultsDetails } from './explain-cvm.js';
export { explainFormFactor, type FormFactorDetails, type FormFactorFormat } from './explain-form-factor.js';
export type { Explanation, BitMeaning, BitmapDetails } from './explain-types.js';

/** Tags with an explainer. */
export const EXPLAINED_TAGS: readonly string[] = ['95', '9B', '9F27', '9F33', '9F34', '9F6E'];

/** The explainer for `tag`, or undefined when there is none. `scheme` picks the meaning of 9F6E. */
export function explainTag(
  tag: string,
  value: Uint8Array,
  context: { scheme?: CardScheme } = {},
): Explanation | undefined {
  switch (tag.toUpperCase()) {
    case '95':
      return explainTvr(value);
    case '9B':
      return explainTsi(value);
    case '9F27':
      return explainCid(value);
    case '9F33':
      return explainTerminalCapabilities(value);
    case '9F34':
      return explainCvmResults(value);
    case '9F6E':
      return explainFormFactor(value, context.scheme);
    default:
      return undefined;
  }
}
