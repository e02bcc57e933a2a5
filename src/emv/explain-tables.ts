/**
 * Bit and code tables for the explainers. Sources: EMV 4.4 Book 3 Annex C5/C6 (TVR, TSI), Book 3
 * 6.5.5.4 (CID), Book 3 Annex C3 and Book 4 Annex A4 (CVM results), Book 4 Annex A2 (terminal
 * capabilities), EMV Contactless Book C-3 / VCPS (Visa Form Factor Indicator) and M/Chip Requirements
 * (Mastercard Third Party Data device types). Where EMV 4.4 gave a meaning to a bit that was RFU in
 * 4.3, the text says so. `null` is an RFU bit.
 */
import type { BitTable } from './explain-types.js';

export const TVR_BITS: BitTable = [
  [
    'Offline data authentication was not performed',
    'SDA failed',
    'ICC data missing',
    'Card appears on terminal exception file',
    'DDA failed',
    'CDA failed',
    'SDA selected',
    'XDA selected (EMV 4.4; RFU before)',
  ],
  [
    'ICC and terminal have different application versions',
    'Expired application',
    'Application not yet effective',
    'Requested service not allowed for card product',
    'New card',
    null,
    'Biometric performed and successful (EMV 4.4; RFU before)',
    'Biometric template format not supported (EMV 4.4; RFU before)',
  ],
  [
    'Cardholder verification was not successful',
    'Unrecognised CVM',
    'PIN Try Limit exceeded',
    'PIN entry required and PIN pad not present or not working',
    'PIN entry required, PIN pad present, but PIN was not entered',
    'Online PIN entered (EMV 4.4: online CVM captured)',
    'Biometric required but biometric capture device not working (EMV 4.4; RFU before)',
    'Biometric required, capture device present, but biometric subtype entry was bypassed (EMV 4.4; RFU before)',
  ],
  [
    'Transaction exceeds floor limit',
    'Lower consecutive offline limit exceeded',
    'Upper consecutive offline limit exceeded',
    'Transaction selected randomly for online processing',
    'Merchant forced transaction online',
    'Biometric try limit exceeded (EMV 4.4; RFU before)',
    'A selected biometric type not supported (EMV 4.4; RFU before)',
    'XDA signature verification failed (EMV 4.4; RFU before)',
  ],
  [
    'Default TDOL used',
    'Issuer authentication failed',
    'Script processing failed before final GENERATE AC',
    'Script processing failed after final GENERATE AC',
    'Reserved for the EMV contactless specifications (kernel C-2: relay resistance threshold exceeded)',
    'CA ECC key missing (EMV 4.4; kernel C-2: relay resistance time limits exceeded)',
    'ECC key recovery failed (EMV 4.4; kernel C-2: relay resistance performed, high bit)',
    'Reserved for the EMV contactless specifications (kernel C-2: relay resistance performed, low bit)',
  ],
];

export const TSI_BITS: BitTable = [
  [
    'Offline data authentication was performed',
    'Cardholder verification was performed',
    'Card risk management was performed',
    'Issuer authentication was performed',
    'Terminal risk management was performed',
    'Script processing was performed',
    null,
    null,
  ],
  [null, null, null, null, null, null, null, null],
];

export const TERMINAL_CAPABILITIES_BITS: BitTable = [
  [
    'Card data input: manual key entry',
    'Card data input: magnetic stripe',
    'Card data input: IC with contacts',
    null,
    null,
    null,
    null,
    null,
  ],
  [
    'CVM: plaintext PIN for ICC verification',
    'CVM: enciphered PIN for online verification',
    'CVM: signature (paper)',
    'CVM: enciphered PIN for offline verification (RSA)',
    'CVM: no CVM required',
    'CVM: online biometric (EMV 4.4; RFU before)',
    'CVM: offline biometric (EMV 4.4; RFU before)',
    'CVM: enciphered PIN for offline verification (ECC) (EMV 4.4; RFU before)',
  ],
  [
    'Security: SDA',
    'Security: DDA',
    'Security: card capture',
    null,
    'Security: CDA',
    'Security: XDA (EMV 4.4; RFU before)',
    null,
    null,
  ],
];

/** CVM codes (bits 6-1 of CVM results byte 1 and of a CV rule). */
export function cvmMethodName(code: number): string {
  const named: Record<number, string> = {
    0x00: 'Fail CVM processing',
    0x01: 'Plaintext PIN verification performed by ICC',
    0x02: 'Enciphered PIN verified online',
    0x03: 'Plaintext PIN verification performed by ICC and signature (paper)',
    0x04: 'Enciphered PIN verification performed by ICC',
    0x05: 'Enciphered PIN verification performed by ICC and signature (paper)',
    0x06: 'Facial biometric verified offline (EMV 4.4)',
    0x07: 'Facial biometric verified online (EMV 4.4)',
    0x08: 'Finger biometric verified offline (EMV 4.4)',
    0x09: 'Finger biometric verified online (EMV 4.4)',
    0x0a: 'Palm biometric verified offline (EMV 4.4)',
    0x0b: 'Palm biometric verified online (EMV 4.4)',
    0x0c: 'Iris biometric verified offline (EMV 4.4)',
    0x0d: 'Iris biometric verified online (EMV 4.4)',
    0x0e: 'Voice biometric verified offline (EMV 4.4)',
    0x0f: 'Voice biometric verified online (EMV 4.4)',
    0x1e: 'Signature (paper)',
    0x1f: 'No CVM required',
    0x3f: 'No CVM performed',
  };
  const name = named[code];
  if (name) return name;
  if (code >= 0x20 && code <= 0x2f) return 'Reserved for use by the individual payment systems';
  if (code >= 0x30 && code <= 0x3e) return 'Reserved for use by the issuer';
  return 'Reserved for future use by EMV';
}

export function cvmConditionName(code: number): string {
  const named: Record<number, string> = {
    0x00: 'Always',
    0x01: 'If unattended cash',
    0x02: 'If not unattended cash and not manual cash and not purchase with cashback',
    0x03: 'If terminal supports the CVM',
    0x04: 'If manual cash',
    0x05: 'If purchase with cashback',
    0x06: 'If transaction is in the application currency and is under X value',
    0x07: 'If transaction is in the application currency and is over X value',
    0x08: 'If transaction is in the application currency and is under Y value',
    0x09: 'If transaction is in the application currency and is over Y value',
  };
  return named[code] ?? (code >= 0x80 ? 'Reserved for use by the individual payment systems' : 'RFU');
}

export function cvmResultName(code: number): string {
  return code === 0 ? 'Unknown' : code === 1 ? 'Failed' : code === 2 ? 'Successful' : 'RFU';
}

/** Visa Form Factor Indicator byte 1 bits 5-1 (VCPS Supplemental Requirements 2.2, Annex D). */
export const VISA_FORM_FACTORS: Readonly<Record<number, string>> = {
  0x00: 'Standard card',
  0x01: 'Mini-card',
  0x02: 'Non-card form factor',
  0x03: 'Consumer mobile phone',
  0x04: 'Wrist-worn device',
};

/** Visa form factors that are a consumer mobile device (phone or wearable with a wallet). */
export const VISA_DEVICE_FORM_FACTORS: ReadonlySet<number> = new Set([0x03, 0x04]);

export const VISA_FFI_FEATURES: readonly (string | null)[] = [
  'Passcode capable',
  'Signature panel',
  'Hologram',
  'CVV2',
  'Two-way messaging',
  'Cloud based payment credentials',
  'Biometric cardholder verification capable',
  null,
];

/** Mastercard Third Party Data device types '00'-'19' (M/Chip Requirements for Contact and Contactless). */
export const MASTERCARD_DEVICE_TYPES: Readonly<Record<string, string>> = {
  '00': 'Card',
  '01': 'Mobile phone or smartphone with a mobile network operator (MNO) controlled removable secure element (SIM or UICC)',
  '02': 'Key fob',
  '03': 'Watch using a contactless chip or a fixed secure element not controlled by the MNO',
  '04': 'Mobile tag',
  '05': 'Wristband',
  '06': 'Mobile phone case or sleeve',
  '07': 'Mobile phone or smartphone with a fixed secure element controlled by the MNO',
  '08': 'Removable secure element not controlled by the MNO (e.g. memory card) for a mobile phone or smartphone',
  '09': 'Mobile phone or smartphone with a fixed secure element not controlled by the MNO',
  '10': 'MNO controlled removable secure element (SIM or UICC) for a tablet or e-book',
  '11': 'Tablet or e-book with a fixed secure element controlled by the MNO',
  '12': 'Removable secure element not controlled by the MNO for a tablet or e-book',
  '13': 'Tablet or e-book with a fixed secure element not controlled by the MNO',
  '14': 'Mobile phone or smartphone with a payment application running in a host processor',
  '15': 'Tablet or e-book with a payment application running in a host processor',
  '16': 'Mobile phone or smartphone with a payment application running in the TEE of a host processor',
  '17': 'Tablet or e-book with a payment application running in the TEE of a host processor',
  '18': 'Watch with a payment application running in the TEE of a host processor',
  '19': 'Watch with a payment application running in a host processor',
};

/** Device types that are a phone, tablet or watch (a wallet device), as opposed to a card, fob, tag or sticker. */
export const MASTERCARD_CONSUMER_DEVICE_TYPES: ReadonlySet<string> = new Set([
  '01',
  '03',
  '07',
  '08',
  '09',
  '10',
  '11',
  '12',
  '13',
  '14',
  '15',
  '16',
  '17',
  '18',
  '19',
]);
