/**
 * Cryptogram Version Numbers: what a card's CVN (in its Issuer Application Data, tag 9F10) says about
 * how its cryptograms are computed, as a table rather than branches. An issuer (or the host simulator)
 * reads the CVN from 9F10 and takes every method from the row:
 *   - masterKey:  ICC master key derivation option (emv-keys.ts)
 *   - sessionKey: session key derivation from the ATC (emv-keys.ts)
 *   - acPadding / acIad: the cryptogram input is the CDOL1 data (amount ... ATC) followed by the CVR
 *     (IAD bytes 4-7) or the whole IAD, padded with ISO 9797-1 method 2 or 1 (emv-arpc.ts)
 *   - arpc: ARPC method 1 or 2 (emv-arpc.ts)
 *
 * 9F10 layout read here (UICS/PBOC and Visa VIS format 0/1): byte 1 = length of the application part
 * (06 or 07), byte 2 = derivation key index, byte 3 = CVN, bytes 4-7 = CVR (03 + 3 bytes), ...
 * M/Chip (CVN in byte 2) and the EMV CCD layout (byte 1 = 0F) are not in this table.
 * Sources: test/vectors/emv-keys/README.md.
 */
import type { Pan } from '../card/index.js';
import type { KeyInput } from './des-key.js';
import type { AcPadding, ArpcMethod } from './emv-arpc.js';
import {
  deriveIccMasterKey,
  deriveSessionKey,
  type MasterKeyOption,
  type SessionKeyDerivation,
} from './emv-keys.js';

export interface CvnScheme {
  /** The CVN byte as 2 upper-case hex digits ("01"), or a name for a non-CVN scheme. */
  cvn: string;
  name: string;
  masterKey: MasterKeyOption;
  sessionKey: SessionKeyDerivation;
  acPadding: AcPadding;
  /** After the CDOL1 data: the 4 CVR bytes of 9F10 (`cvr`) or the whole 9F10 (`iad`). */
  acIad: 'cvr' | 'iad';
  arpc: ArpcMethod;
}

/** The CVNs this code can compute, keyed by the CVN byte in hex. */
export const CVN_SCHEMES: Readonly<Record<string, CvnScheme>> = Object.freeze({
  // UICS (UnionPay IC card, PBOC 3.0) debit/credit CVN 01: UDK from the rightmost 16 digits of PAN||PSN,
  // process key SKAC from the ATC, MAC over CDOL1 || CVR, ARPC = 3DES_SK(ARQC XOR ARC).
  '01': {
    cvn: '01',
    name: 'UICS / PBOC 3.0 CVN 01',
    masterKey: 'A',
    sessionKey: 'pboc',
    acPadding: 'method-2',
    acIad: 'cvr',
    arpc: 1,
  },
  // Visa VIS CVN 10: no session key (the ICC master key computes the cryptograms), zero padding.
  '0A': {
    cvn: '0A',
    name: 'Visa CVN 10',
    masterKey: 'A',
    sessionKey: 'none',
    acPadding: 'method-1',
    acIad: 'cvr',
    arpc: 1,
  },
  // Visa VIS CVN 18: option B master key, EMV common session key, whole IAD in the input, ARPC method 2.
  '12': {
    cvn: '12',
    name: 'Visa CVN 18',
    masterKey: 'B',
    sessionKey: 'emv-common',
    acPadding: 'method-2',
    acIad: 'iad',
    arpc: 2,
  },
});

export type CvnLookup =
  | { ok: true; scheme: CvnScheme }
  | {
      ok: false;
      code: 'bad_iad' | 'unknown_cvn';
      path: '9F10';
      offset?: number;
      message: string;
      cvn?: string;
    };

/** The CVN byte of a 9F10 value (byte 3) as 2 hex digits, or undefined when 9F10 is too short. */
export function cvnOfIad(iad: Uint8Array): string | undefined {
  if (iad.length < 3) return undefined;
  return iad[2]!.toString(16).toUpperCase().padStart(2, '0');
}

/** The scheme for a CVN (2 hex digits, any case). */
export function cvnScheme(cvn: string): CvnScheme | undefined {
  const key = cvn.toUpperCase();
  return Object.prototype.hasOwnProperty.call(CVN_SCHEMES, key) ? CVN_SCHEMES[key] : undefined;
}

/** The scheme a card's 9F10 names, or a typed error value (never a throw). */
export function schemeForIad(iad: Uint8Array): CvnLookup {
  const cvn = cvnOfIad(iad);
  if (cvn === undefined)
    return {
      ok: false,
      code: 'bad_iad',
      path: '9F10',
      offset: iad.length,
      message: `9F10 must be at least 3 bytes to carry a CVN, got ${iad.length}`,
    };
  const scheme = cvnScheme(cvn);
  return scheme
    ? { ok: true, scheme }
    : {
        ok: false,
        code: 'unknown_cvn',
        path: '9F10',
        offset: 2,
        cvn,
        message: `CVN ${cvn} is not supported`,
      };
}

/** The bytes of 9F10 that follow the CDOL1 data in the cryptogram input under `scheme`. */
export function cryptogramIadPart(scheme: Pick<CvnScheme, 'acIad'>, iad: Uint8Array): Buffer {
  const b = Buffer.from(iad);
  if (scheme.acIad === 'iad') return b;
  // CVR: length byte 03 and the 3 CVR bytes; the whole 9F10 when it is shorter than 7 bytes.
  return b.length >= 7 ? b.subarray(3, 7) : b;
}

/** The cryptogram key of one transaction under `scheme`: IMK -> ICC master key -> session key (ATC). */
export function cryptogramSessionKey(
  scheme: Pick<CvnScheme, 'masterKey' | 'sessionKey'>,
  imk: KeyInput,
  pan: Pan | string,
  psn: string | null | undefined,
  atc: Uint8Array,
): Buffer {
  const mk = deriveIccMasterKey(scheme.masterKey, imk, pan, psn);
  try {
    return deriveSessionKey(scheme.sessionKey, mk, atc);
  } finally {
    mk.fill(0);
  }
}
