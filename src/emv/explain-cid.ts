import { toHex } from './hex.js';
import { finish, type Explanation } from './explain-types.js';

export type CryptogramType = 'AAC' | 'TC' | 'ARQC' | 'RFU';

export interface CidDetails {
  /** Bits 8-7: AAC (decline), TC (approve offline), ARQC (go online). */
  cryptogram?: CryptogramType;
  /** Bits 6-5, payment system-specific cryptogram. */
  paymentSystemBits?: number;
  /** Bit 4. */
  adviceRequired?: boolean;
  /** Bits 3-1. */
  reason?: { code: number; meaning: string };
}

const CRYPTOGRAMS: readonly CryptogramType[] = ['AAC', 'TC', 'ARQC', 'RFU'];
const CRYPTOGRAM_TEXT: Record<CryptogramType, string> = {
  AAC: 'AAC (transaction declined)',
  TC: 'TC (transaction approved)',
  ARQC: 'ARQC (online authorisation requested)',
  RFU: 'RFU (AAR in EMV before 4.1)',
};
const REASONS = [
  'No information given',
  'Service not allowed',
  'PIN Try Limit exceeded',
  'Issuer authentication failed',
];

/** 9F27 Cryptogram Information Data (EMV Book 3, 6.5.5.4). */
export function explainCid(value: Uint8Array): Explanation<CidDetails> {
  const hex = toHex(value);
  if (value.length !== 1)
    return finish('9F27', 'Cryptogram Information Data', hex, {}, [], `expected 1 byte, got ${value.length}`);
  const b = value[0]!;
  const cryptogram = CRYPTOGRAMS[b >> 6]!;
  const paymentSystemBits = (b >> 4) & 0x3;
  const adviceRequired = (b & 0x08) !== 0;
  const code = b & 0x07;
  const reason = { code, meaning: REASONS[code] ?? 'RFU' };
  const lines = [
    `cryptogram: ${CRYPTOGRAM_TEXT[cryptogram]}`,
    ...(paymentSystemBits ? [`payment system-specific cryptogram bits: ${paymentSystemBits}`] : []),
    `advice ${adviceRequired ? 'required' : 'not required'}`,
    `reason/advice code: ${reason.meaning}`,
  ];
  return finish(
    '9F27',
    'Cryptogram Information Data',
    hex,
    { cryptogram, paymentSystemBits, adviceRequired, reason },
    lines,
  );
}
