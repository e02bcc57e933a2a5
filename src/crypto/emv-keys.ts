/**
 * EMV issuer-side key derivation for application cryptograms (ARQC / TC / AAC and the ARPC): from the
 * issuer master key (IMK-AC) to the card's ICC master key (MK), and from MK and the ATC to the session
 * key (SK) of one transaction. Host/issuer code and the simulators use it; a terminal never does.
 *
 * ICC master key (EMV 4.3 Book 2 Annex A1.4):
 *   Option A (A1.4.1): Y = the rightmost 16 digits of PAN || PSN ("00" when the card has none),
 *     left-padded with "0"; MK = 3DES_IMK(Y) || 3DES_IMK(Y XOR FF..FF), odd parity.
 *   Option B (A1.4.2, PANs of 17-19 digits; shorter PANs use option A): X = PAN || PSN left-padded
 *     with "0" to an even number of digits, packed BCD; H = SHA-1(X) in hex; Y = the first 16 decimal
 *     digits of H, completed when fewer than 16 by its letters a-f decimalised 0-5, in order; then as A.
 * Session key from the ATC (9F36, 2 bytes):
 *   emv-common (Book 2 A1.3.1, R = ATC || 00 00 00 00 00 00):
 *     SK = 3DES_MK(R with byte 3 = F0) || 3DES_MK(R with byte 3 = 0F), odd parity.
 *   pboc (PBOC 2.0/3.0 and UICS debit/credit, CVN 01; the "process key" SKAC):
 *     SK = 3DES_MK(00 00 00 00 00 00 || ATC) || 3DES_MK(00 00 00 00 00 00 || (ATC XOR FF FF)).
 *     No parity adjustment: the published worked example's SK has even-parity bytes, and DES ignores
 *     the parity bits anyway, so the cryptograms are the same either way.
 *   none (Visa CVN 10): the ICC master key itself is the cryptogram key.
 * Sources and vectors: test/vectors/emv-keys/README.md.
 */
import { createHash } from 'node:crypto';
import type { Pan } from '../card/index.js';
import { DesKey, withOddParity, type KeyInput } from './des-key.js';
import { CryptoError } from './errors.js';

export type MasterKeyOption = 'A' | 'B';
export type SessionKeyDerivation = 'emv-common' | 'pboc' | 'none';

/** The ATC (9F36) is two bytes. */
export const ATC_LENGTH = 2;

function digitsOf(pan: Pan | string): string {
  const digits = typeof pan === 'string' ? pan : pan.reveal();
  // The message names the rule only: never the digits themselves.
  if (!/^[0-9]{1,19}$/.test(digits))
    throw new CryptoError('bad_pan', 'the PAN must be 1 to 19 decimal digits', {
      expected: '1-19 digits',
      actual: /^[0-9]*$/.test(digits) ? digits.length : 'non-digit',
    });
  return digits;
}

function psnOf(psn: string | null | undefined): string {
  if (psn === null || psn === undefined) return '00';
  if (!/^[0-9]{2}$/.test(psn))
    throw new CryptoError('bad_data', 'the PAN sequence number must be 2 digits', {
      expected: 2,
      actual: psn.length,
      reason: 'psn',
    });
  return psn;
}

function imkOf(imk: KeyInput): DesKey {
  const key = DesKey.from(imk, 'key');
  if (key.length !== 16)
    throw new CryptoError('bad_key_length', 'the issuer master key is a double-length 3DES key', {
      key: 'key',
      expected: 16,
      actual: key.length,
    });
  return key;
}

/** MK = 3DES_IMK(Y) || 3DES_IMK(~Y), odd parity (the common last step of options A and B). */
function masterKeyFromY(imk: KeyInput, y: Buffer): Buffer {
  const key = imkOf(imk);
  const inverted = Buffer.from(y.map((b) => b ^ 0xff));
  return withOddParity(Buffer.concat([key.encryptEcb(y), key.encryptEcb(inverted)]));
}

/** ICC master key, EMV option A (Book 2 A1.4.1). */
export function deriveIccMasterKeyA(imk: KeyInput, pan: Pan | string, psn?: string | null): Buffer {
  const digits = digitsOf(pan) + psnOf(psn);
  return masterKeyFromY(imk, Buffer.from(digits.slice(-16).padStart(16, '0'), 'hex'));
}

/** The 16 decimal digits option B takes from SHA-1(PAN || PSN) (exported for the vector tests). */
export function optionBDigits(pan: Pan | string, psn?: string | null): string {
  const digits = digitsOf(pan) + psnOf(psn);
  const packed = Buffer.from(digits.length % 2 ? `0${digits}` : digits, 'hex');
  const hex = createHash('sha1').update(packed).digest('hex');
  const decimals = hex.replace(/[a-f]/g, '');
  if (decimals.length >= 16) return decimals.slice(0, 16);
  // Decimalisation of the letters, in the order they appear: a-f -> 0-5.
  const letters = hex
    .replace(/[0-9]/g, '')
    .split('')
    .map((c) => String(c.charCodeAt(0) - 0x61))
    .join('');
  return (decimals + letters).slice(0, 16);
}

/** ICC master key, EMV option B (Book 2 A1.4.2); a PAN of 16 digits or fewer uses option A, as EMV says. */
export function deriveIccMasterKeyB(imk: KeyInput, pan: Pan | string, psn?: string | null): Buffer {
  if (digitsOf(pan).length <= 16) return deriveIccMasterKeyA(imk, pan, psn);
  return masterKeyFromY(imk, Buffer.from(optionBDigits(pan, psn), 'hex'));
}

/** ICC master key by option (what a CVN prescribes). */
export function deriveIccMasterKey(
  option: MasterKeyOption,
  imk: KeyInput,
  pan: Pan | string,
  psn?: string | null,
): Buffer {
  return option === 'A' ? deriveIccMasterKeyA(imk, pan, psn) : deriveIccMasterKeyB(imk, pan, psn);
}

function mkOf(mk: KeyInput): DesKey {
  const key = DesKey.from(mk, 'key');
  if (key.length !== 16)
    throw new CryptoError('bad_key_length', 'the ICC master key is a double-length 3DES key', {
      key: 'key',
      expected: 16,
      actual: key.length,
    });
  return key;
}

function checkAtc(atc: Uint8Array): void {
  if (atc.length !== ATC_LENGTH)
    throw new CryptoError('bad_data', 'the ATC (9F36) is 2 bytes', {
      expected: ATC_LENGTH,
      actual: atc.length,
      reason: '9F36',
    });
}

/**
 * EMV common session key derivation (Book 2 A1.3.1) for any 8-byte diversification value R:
 * SK = 3DES_MK(R0 R1 F0 R3..R7) || 3DES_MK(R0 R1 0F R3..R7), odd parity.
 */
export function deriveCommonSessionKey(mk: KeyInput, r: Uint8Array): Buffer {
  if (r.length !== 8)
    throw new CryptoError('bad_data', 'the diversification value R is 8 bytes', {
      expected: 8,
      actual: r.length,
      reason: 'R',
    });
  const key = mkOf(mk);
  const left = Buffer.from(r);
  const right = Buffer.from(r);
  left[2] = 0xf0;
  right[2] = 0x0f;
  return withOddParity(Buffer.concat([key.encryptEcb(left), key.encryptEcb(right)]));
}

/** EMV common session key for application cryptograms: R = ATC || 00 × 6. */
export function emvCommonSessionKey(mk: KeyInput, atc: Uint8Array): Buffer {
  checkAtc(atc);
  const r = Buffer.alloc(8);
  r.set(atc, 0);
  return deriveCommonSessionKey(mk, r);
}

/** PBOC / UICS session key (SKAC): 3DES_MK(00 × 6 || ATC) || 3DES_MK(00 × 6 || ~ATC). */
export function pbocSessionKey(mk: KeyInput, atc: Uint8Array): Buffer {
  checkAtc(atc);
  const key = mkOf(mk);
  const left = Buffer.alloc(8);
  const right = Buffer.alloc(8);
  left.set(atc, 6);
  right[6] = atc[0]! ^ 0xff;
  right[7] = atc[1]! ^ 0xff;
  return Buffer.concat([key.encryptEcb(left), key.encryptEcb(right)]);
}

/** Session key derivations by name (the CVN table refers to them by name). */
export const SESSION_KEY_DERIVATIONS: Readonly<
  Record<SessionKeyDerivation, (mk: Uint8Array, atc: Uint8Array) => Buffer>
> = {
  'emv-common': emvCommonSessionKey,
  pboc: pbocSessionKey,
  // Visa CVN 10: no session key, the cryptograms use MK itself.
  none: (mk, atc) => {
    checkAtc(atc);
    mkOf(mk);
    return Buffer.from(mk);
  },
};

/** The session key of one transaction by derivation name. */
export function deriveSessionKey(method: SessionKeyDerivation, mk: Uint8Array, atc: Uint8Array): Buffer {
  return SESSION_KEY_DERIVATIONS[method](mk, atc);
}
