import type { CardScheme } from '../card/index.js';
import { toHex } from './hex.js';
import {
  MASTERCARD_CONSUMER_DEVICE_TYPES,
  MASTERCARD_DEVICE_TYPES,
  VISA_DEVICE_FORM_FACTORS,
  VISA_FFI_FEATURES,
  VISA_FORM_FACTORS,
} from './explain-tables.js';
import { finish, type Explanation } from './explain-types.js';

/**
 * How 9F6E was read. The tag means different things per scheme: Visa's Form Factor Indicator (4 bytes),
 * Mastercard's Third Party Data (5-32 bytes, device type at bytes 5-6), and for Amex the terminal's
 * Enhanced Contactless Reader Capabilities (no device fact at all).
 */
export type FormFactorFormat =
  'visa_ffi' | 'mastercard_third_party_data' | 'amex_reader_capabilities' | 'unknown';

export interface FormFactorDetails {
  format: FormFactorFormat;
  /** A phone, tablet or watch (a wallet device), as opposed to a card, key fob, tag or sticker. */
  consumerDevice: boolean;
  deviceType?: { code: string; name: string };
  /** Visa: FFI version number (byte 1 bits 8-6). */
  version?: number;
  /** Visa: consumer device features (byte 2). */
  features?: string[];
  /** Visa: payment transaction technology (byte 4 bits 4-1). */
  technology?: string;
  /** Mastercard: ISO 3166-1 numeric country code. */
  countryCode?: string;
  /** Mastercard: unique identifier (hex). */
  uniqueIdentifier?: string;
}

const NAME = 'Form Factor Indicator / Third Party Data';

function formatFor(value: Uint8Array, scheme: CardScheme | undefined): FormFactorFormat {
  if (scheme === 'amex') return 'amex_reader_capabilities';
  if (scheme === 'visa') return 'visa_ffi';
  if (scheme === 'mastercard') return 'mastercard_third_party_data';
  if (value.length === 4) return 'visa_ffi';
  if (value.length >= 5 && value.length <= 32) return 'mastercard_third_party_data';
  return 'unknown';
}

/**
 * 9F6E read per scheme (from the AID). Without a scheme, 4 bytes are read as a Visa-style FFI and 5-32
 * bytes as Mastercard-style Third Party Data: a heuristic, flagged in the text.
 */
export function explainFormFactor(value: Uint8Array, scheme?: CardScheme): Explanation<FormFactorDetails> {
  const hex = toHex(value);
  const format = formatFor(value, scheme);
  const guessed = scheme === undefined || !['visa', 'mastercard', 'amex'].includes(scheme);
  const note = guessed && format !== 'unknown' ? ' (format inferred from the length)' : '';
  if (format === 'amex_reader_capabilities') {
    return finish('9F6E', NAME, hex, { format, consumerDevice: false }, [
      'Amex: Enhanced Contactless Reader Capabilities (a terminal setting, says nothing about the device)',
    ]);
  }
  if (format === 'unknown') {
    return finish(
      '9F6E',
      NAME,
      hex,
      { format, consumerDevice: false },
      [],
      `unexpected length ${value.length}`,
    );
  }
  if (format === 'visa_ffi') {
    if (value.length !== 4) {
      return finish(
        '9F6E',
        NAME,
        hex,
        { format, consumerDevice: false },
        [],
        `Visa FFI is 4 bytes, got ${value.length}`,
      );
    }
    const b1 = value[0]!;
    const version = b1 >> 5;
    const code = b1 & 0x1f;
    const deviceType = {
      code: code.toString(16).toUpperCase().padStart(2, '0'),
      name: VISA_FORM_FACTORS[code] ?? 'RFU form factor',
    };
    const features = VISA_FFI_FEATURES.flatMap((f, i) => (f && value[1]! & (0x80 >> i) ? [f] : []));
    const cloud = (value[1]! & 0x04) !== 0;
    const tech = value[3]! & 0x0f;
    const technology =
      tech === 0
        ? 'Proximity contactless interface (ISO 14443, including NFC)'
        : tech === 1
          ? 'Not used in VCPS'
          : 'RFU';
    const consumerDevice = VISA_DEVICE_FORM_FACTORS.has(code) || cloud;
    const lines = [
      `Visa Form Factor Indicator version ${version}${note}`,
      `form factor: ${deviceType.name}`,
      ...(features.length ? [`features: ${features.join(', ')}`] : []),
      `technology: ${technology}`,
      consumerDevice ? 'consumer mobile device (wallet)' : 'not a consumer mobile device',
    ];
    return finish(
      '9F6E',
      NAME,
      hex,
      { format, consumerDevice, deviceType, version, features, technology },
      lines,
    );
  }
  // Mastercard Third Party Data
  if (value.length < 5) {
    return finish(
      '9F6E',
      NAME,
      hex,
      { format, consumerDevice: false },
      [],
      `Third Party Data is 5-32 bytes, got ${value.length}`,
    );
  }
  const countryCode = toHex(value.subarray(0, 2)).replace(/^0/, '');
  const uid = (value[2]! << 8) | value[3]!;
  const uniqueIdentifier = toHex(value.subarray(2, 4));
  const lines = [
    `Mastercard Third Party Data${note}`,
    `country: ${countryCode}`,
    `unique identifier: ${uniqueIdentifier}`,
  ];
  if (uid & 0x8000) {
    lines.push('no device type (unique identifier bit 16 set)');
    return finish('9F6E', NAME, hex, { format, consumerDevice: false, countryCode, uniqueIdentifier }, lines);
  }
  if (value.length < 7) {
    return finish(
      '9F6E',
      NAME,
      hex,
      { format, consumerDevice: false, countryCode, uniqueIdentifier },
      lines,
      `device type expected at bytes 5-6, value has ${value.length} bytes`,
    );
  }
  const code = Buffer.from(value.subarray(4, 6)).toString('latin1');
  if (!/^[0-9]{2}$/.test(code)) {
    return finish(
      '9F6E',
      NAME,
      hex,
      { format, consumerDevice: false, countryCode, uniqueIdentifier },
      lines,
      'device type is not two digits',
    );
  }
  const deviceType = {
    code,
    name: MASTERCARD_DEVICE_TYPES[code] ?? `device type ${code} (not in the M/Chip 00-19 list)`,
  };
  const consumerDevice = MASTERCARD_CONSUMER_DEVICE_TYPES.has(code);
  lines.push(`device type ${code}: ${deviceType.name}`);
  lines.push(consumerDevice ? 'consumer mobile device (wallet)' : 'not a consumer mobile device');
  return finish(
    '9F6E',
    NAME,
    hex,
    { format, consumerDevice, deviceType, countryCode, uniqueIdentifier },
    lines,
  );
}
