import { explainBitmap } from './explain-bitmap.js';
import { TERMINAL_CAPABILITIES_BITS, TSI_BITS, TVR_BITS } from './explain-tables.js';
import type { BitmapDetails, Explanation } from './explain-types.js';

/** 95 Terminal Verification Results: all 40 bits, set ones listed. */
export function explainTvr(value: Uint8Array): Explanation<BitmapDetails> {
  return explainBitmap(
    '95',
    'Terminal Verification Results',
    TVR_BITS,
    value,
    'no checks failed (all bits clear)',
  );
}

/** 9B Transaction Status Information. */
export function explainTsi(value: Uint8Array): Explanation<BitmapDetails> {
  return explainBitmap('9B', 'Transaction Status Information', TSI_BITS, value, 'no functions performed');
}

/** 9F33 Terminal Capabilities (card data input, CVM and security capabilities). */
export function explainTerminalCapabilities(value: Uint8Array): Explanation<BitmapDetails> {
  return explainBitmap('9F33', 'Terminal Capabilities', TERMINAL_CAPABILITIES_BITS, value, 'no capabilities');
}
