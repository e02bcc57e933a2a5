import { Pan, SensitiveBytes } from '../src/card/index.js';
import { parseCommandArgs } from '../src/daemon/cli-args.js';
import { decodeHex } from '../src/daemon/decode-command.js';
import { dialectFraming, frame, loadDialect } from '../src/iso8583/index.js';

/** Field 55 of the sample: what a chip card and terminal send with an online authorisation. */
export const SAMPLE_FIELD_55 =
  '9F2608A1B2C3D4E5F60708' + // application cryptogram
  '9F270180' + // CID: ARQC
  '9F1013' +
  '07010103A0A802010A0100000000004B1E7C99' + // issuer application data
  '9F3704AA0FBE65' + // unpredictable number
  '9F360200A3' + // ATC
  '9505' +
  '0000008000' + // TVR: transaction exceeds the floor limit (byte 4 bit 8)
  '9A03261125' + // transaction date
  '9C0100' + // transaction type: goods and services
  '9F0206' +
  '000012345600' + // amount authorised
  '5F2A020156' + // transaction currency
  '8202' +
  '7900' + // AIP
  '9F1A020156' + // terminal country
  '9F3303E0F8C8' + // terminal capabilities
  '9F3403420300' + // CVM results: enciphered PIN online (the result is the issuer's: unknown here)
  '8407A0000003330101'; // AID (UnionPay debit)

/**
 * A cup-pos chip sale as a terminal would send it, built from a simulator test card (not a real card),
 * framed with the dialect's length header, TPDU and header.
 */
export function sampleSaleFrame(): Buffer {
  const d = loadDialect('cup-pos');
  const body = d.pack(
    {
      mti: '0200',
      fields: {
        2: Pan.fromDigits('6212340000000000019'),
        3: '000000',
        4: '000012345600', // 123,456.00 yuan in fen
        11: '000001',
        14: SensitiveBytes.fromText('3012'),
        22: '051',
        23: '001',
        25: '00',
        26: '12',
        41: 'SIM00001',
        42: '898310048160001',
        49: '156',
        52: Buffer.from('0123456789ABCDEF', 'hex'),
        53: '2600000000000000',
        55: Buffer.from(SAMPLE_FIELD_55, 'hex'),
        60: { '1': '22', '2': '000001', '3': '000', '4': '5', '5': '0' },
      },
    },
    { mac: true },
  );
  return frame(body, dialectFraming(d));
}

export const SAMPLE_USAGE = `usage: posbridge-sim sample [--hex]
Builds a cup-pos chip sale frame from a simulator test card (not a real card) and describes it as
posbridge decode does: every field by name, field 55 tag by tag, card data masked.
  --hex   print only the frame, as hex on one line, for piping into the decoder:
          posbridge decode "$(posbridge-sim sample --hex)"
          (the frame carries the test card's PAN in BCD as any sale does: the raw hex is for QA)
`;

/** `posbridge-sim sample [--hex]`. */
export function runSampleCli(argv: string[]): number {
  const { values } = parseCommandArgs({
    args: argv,
    options: {
      hex: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(SAMPLE_USAGE);
    return 0;
  }
  const hex = sampleSaleFrame().toString('hex').toUpperCase();
  if (values.hex) {
    process.stdout.write(`${hex}\n`);
    return 0;
  }
  // The description only: the frame holds the (test) PAN in BCD; --hex prints it when asked for.
  process.stdout.write(
    `cup-pos sample chip sale frame: ${hex.length / 2} bytes (posbridge-sim sample --hex prints it for posbridge decode)\n\n`,
  );
  const result = decodeHex(hex, { dialect: 'cup-pos' });
  process.stdout.write(`${result.text}\n`);
  return result.ok ? 0 : 1;
}
