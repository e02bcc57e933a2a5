import { Pan, SensitiveBytes } from '../src/card/index.js';
import { dialectFraming, frame, loadDialect } from '../src/iso8583/index.js';

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
        55: Buffer.from(
          '9F2608A1B2C3D4E5F607089F2701809F3704AA0FBE659A032611259C01009F02060000123456005F2A020156',
          'hex',
        ),
        60: { '1': '22', '2': '000001', '3': '000', '4': '5', '5': '0' },
      },
    },
    { mac: true },
  );
  return frame(body, dialectFraming(d));
}
