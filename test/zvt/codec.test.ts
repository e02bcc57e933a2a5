/** CRC, framing, APDU lengths, BCD, BMPs, TLV and message layouts: the codec's rules one by one. */
import { describe, expect, it } from 'vitest';
import {
  ApduReassembler,
  FrameReader,
  PT_CLASSES,
  ZvtError,
  crc16,
  decodeApdu,
  decodeBmps,
  decodeFrame,
  decodeMessage,
  decodeTlv,
  encodeApdu,
  encodeBmps,
  encodeFrame,
  encodeMessage,
  encodeTlv,
  encodeVarLength,
  loadZvtTables,
  maskedPanOf,
  progressOf,
  statusToResult,
  tlv,
  zvtMessages as M,
} from '../../src/terminal/zvt/index.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const H = (b: Buffer): string => b.toString('hex').toUpperCase();
const tables = loadZvtTables();
const withLength = (head: string, data: string): Buffer => {
  const d = hex(data);
  return encodeApdu({ cls: hex(head)[0]!, ins: hex(head)[1]!, data: d });
};

describe('CRC-16/KERMIT (spec16 §3.3)', () => {
  it('has the KERMIT check value and goes on the wire low byte first', () => {
    expect(crc16(Buffer.from('123456789', 'ascii'))).toBe(0x2189);
    // ecr-serial-ack-8000: 10 02 80 00 00 10 03 F5 1F
    expect(H(encodeFrame(hex('800000')))).toBe('10028000001003F51F');
  });

  it('doubles DLE in the APDU but counts it once in LEN and CRC', () => {
    const apdu = hex('06010A04000000011000490978');
    const frame = encodeFrame(apdu);
    expect(H(frame)).toBe('100206010A04000000011010004909781003F2FF');
    expect(decodeFrame(frame).equals(apdu)).toBe(true);
  });

  it('rejects a frame with a wrong CRC as bad_crc and a stray DLE as bad_frame', () => {
    const frame = encodeFrame(hex('800000'), { corruptCrc: true });
    expect(() => decodeFrame(frame)).toThrow(expect.objectContaining({ code: 'bad_crc' }) as Error);
    expect(() => decodeFrame(hex('1002800010050010031234'))).toThrow(ZvtError);
  });
});

describe('FrameReader', () => {
  it('reads ACK, NAK, frames and noise from a stream in any chunking', () => {
    const stream = Buffer.concat([
      Buffer.from('HELLO', 'ascii'),
      Buffer.from([0x06]),
      encodeFrame(hex('06D1020010')),
      Buffer.from([0x15]),
      encodeFrame(hex('800000')),
    ]);
    for (const size of [1, 2, 3, 7, stream.length]) {
      const r = new FrameReader();
      const events = [];
      for (let i = 0; i < stream.length; i += size) events.push(...r.push(stream.subarray(i, i + size)));
      const kinds = events
        .filter((e) => e.type !== 'noise')
        .map((e) => (e.type === 'frame' ? H(e.apdu) : e.type));
      expect(kinds).toEqual(['ack', '06D1020010', 'nak', '800000']);
      expect(
        events.filter((e) => e.type === 'noise').reduce((n, e) => n + (e.type === 'noise' ? e.bytes : 0), 0),
      ).toBe(5);
      expect(r.midFrame).toBe(false);
    }
  });

  it('reports a frame in progress (T1 runs) and a corrupted one as bad', () => {
    const r = new FrameReader();
    const f = encodeFrame(hex('060F00'));
    expect(r.push(f.subarray(0, 4))).toEqual([]);
    expect(r.midFrame).toBe(true);
    const bad = Buffer.from(f.subarray(4));
    bad[bad.length - 1] = bad[bad.length - 1]! ^ 0x01;
    expect(r.push(bad)).toEqual([expect.objectContaining({ type: 'bad', crc: true })]);
  });
});

describe('APDU length (spec16 §5.2.4)', () => {
  it('uses one length byte up to 254 and FF lo hi (low byte first) above', () => {
    expect(H(encodeApdu({ cls: 0x06, ins: 0xd3, data: Buffer.alloc(254) }).subarray(0, 3))).toBe('06D3FE');
    expect(H(encodeApdu({ cls: 0x06, ins: 0xd3, data: Buffer.alloc(255) }).subarray(0, 5))).toBe(
      '06D3FFFF00',
    );
    expect(H(encodeApdu({ cls: 0x06, ins: 0xd3, data: Buffer.alloc(654) }).subarray(0, 5))).toBe(
      '06D3FF8E02',
    );
    const a = decodeApdu(hex('040FFF01006C'));
    expect(a).toMatchObject({ cls: 0x04, ins: 0x0f, extended: true });
    expect(H(encodeApdu(a))).toBe('040FFF01006C');
  });

  it('a length that does not match is bad_length with the command', () => {
    expect(() => decodeApdu(hex('061E0EB806'))).toThrow(
      expect.objectContaining({ code: 'bad_length', command: '06 1E' }) as Error,
    );
  });

  it('reassembles APDUs split anywhere and skips bytes that cannot start one', () => {
    const r = new ApduReassembler(PT_CLASSES);
    const stream = Buffer.concat([
      Buffer.from('220 READY\r\n'),
      hex('800000'),
      hex('040F022700'),
      hex('060F00'),
    ]);
    const got = [];
    for (const b of stream) got.push(...r.push(Buffer.from([b])));
    expect(got.map((a) => H(encodeApdu(a)))).toEqual(['800000', '040F022700', '060F00']);
    expect(r.noise).toBe(11);
  });
});

describe('BMPs and TLV', () => {
  it('LLVAR / LLLVAR prefixes are F0-F9 digits counting bytes', () => {
    expect(H(encodeVarLength(12, 2))).toBe('F1F2');
    expect(H(encodeVarLength(3, 3))).toBe('F0F0F3');
    const bmps = decodeBmps(hex('22F0F8EEEEEEEEEEEE4771 3CF0F0F3414243'), 0, tables);
    expect(bmps.map((b) => [b.bmp, H(b.value)])).toEqual([
      [0x22, 'EEEEEEEEEEEE4771'],
      [0x3c, '414243'],
    ]);
    expect(H(encodeBmps(bmps, tables))).toBe('22F0F8EEEEEEEEEEEE47713CF0F0F3414243');
  });

  it('an unknown BMP or a short value is a typed error naming the BMP and offset', () => {
    expect(() => decodeBmps(hex('2700 6C'), 0, tables)).toThrow(
      expect.objectContaining({ code: 'unknown_bmp', bmp: '6C', offset: 2 }) as Error,
    );
    expect(() => decodeBmps(hex('04000000'), 0, tables)).toThrow(
      expect.objectContaining({ code: 'bad_bmp', bmp: '04' }) as Error,
    );
    expect(() => encodeBmps([{ bmp: 0x04, value: hex('0000') }], tables)).toThrow(
      expect.objectContaining({ code: 'bad_bmp' }) as Error,
    );
  });

  it('TLV lengths are 00-7F, 81 xx, 82 hi lo (big endian); 80 and 83+ are refused', () => {
    const big = tlv('25', [tlv('07', Buffer.alloc(300, 0x41))]);
    const enc = encodeTlv([big]);
    expect(H(enc.subarray(0, 4))).toBe('25820130'); // 07 82 01 2C + 300 bytes = 304
    expect(decodeTlv(enc)[0]!.children![0]!.value.length).toBe(300);
    expect(() => decodeTlv(hex('078001'))).toThrow(expect.objectContaining({ code: 'bad_tlv' }) as Error);
    expect(() => decodeTlv(hex('0783000001'))).toThrow(ZvtError);
    expect(() => decodeTlv(hex('1F0705'))).toThrow(expect.objectContaining({ tag: '1F07' }) as Error);
    // A non-minimal length is kept so the container re-encodes exactly.
    expect(H(encodeTlv(decodeTlv(hex('1F07810101'))))).toBe('1F07810101');
  });
});

describe('messages', () => {
  it('registration: password BCD, config byte, CC, TLV 26 (vendor memo bytes)', () => {
    const m = M.registration({
      password: '123456',
      configByte: 0xbe,
      currency: '978',
      tlv: [tlv('26', [tlv('0A', hex('06D3'))])],
    });
    expect(H(encodeMessage(m))).toBe('06000E123456BE0978060626040A0206D3');
    expect(() => M.registration({ password: '12345', configByte: 0 })).toThrow(
      expect.objectContaining({ code: 'bad_config' }) as Error,
    );
  });

  it('payments, by-receipt commands and administration commands', () => {
    expect(H(encodeMessage(M.authorisation({ amount: 1000 })))).toBe('06010704000000001000');
    expect(H(encodeMessage(M.authorisation({ amount: 11000, currency: '978' })))).toBe(
      '06010A04000000011000490978',
    );
    expect(
      H(encodeMessage(M.reversal({ password: '123456', receiptNo: '12', amount: 500, currency: '978' }))),
    ).toBe('063010123456870012040000000005004909 78'.replace(/ /g, ''));
    expect(
      H(encodeMessage(M.bookTotal({ receiptNo: '0007', amount: 100, trace: '123', authCode: 'A1B2' }))),
    ).toBe('062417870007040000000001000B0001233B4131423200000000');
    expect(H(encodeMessage(M.preAuthReversal({ receiptNo: '0007' })))).toBe('062503870007');
    expect(H(encodeMessage(M.repeatReceipt({ password: '123456', serviceByte: 3 })))).toBe(
      '0620051234560303',
    );
    expect(H(encodeMessage(M.endOfDay({ password: '123456' })))).toBe('065003123456');
    expect(H(encodeMessage(M.statusEnquiry({ password: '123456' })))).toBe('050103123456');
    expect(H(encodeMessage(M.logOff()))).toBe('060200');
    expect(H(encodeMessage(M.abortCommand()))).toBe('06B000');
    expect(H(encodeMessage(M.nack(0x9c)))).toBe('849C00');
  });

  it('a long trace number goes as 0B 000000 plus TLV 1F2B', () => {
    const m = M.bookTotal({ receiptNo: '1', trace: '10015008' });
    const back = decodeMessage(encodeMessage(m));
    expect(statusToResult({ ...back, cls: 0x04, ins: 0x0f }).trace).toBe('10015008');
  });

  it('Status-Information with masked PAN, card name, auth code, TLV 1F10 signature', () => {
    const m = decodeMessage(
      withLength(
        '040F',
        '2700 04000000001000 490978 0B000123 0C101112 0D1204 22F0F8411111EEEEEE1111 870042 88000042 2952500001 3B3132333435360000 8BF0F5564953410006062F041F100101',
      ),
    );
    expect(statusToResult(m)).toEqual({
      resultCode: '00',
      amount: 1000,
      currency: '978',
      trace: '000123',
      time: '101112',
      date: '1204',
      maskedPan: '411111******1111',
      receiptNo: '0042',
      turnoverNo: '000042',
      terminalId: '52500001',
      authCode: '123456',
      cardName: 'VISA',
      signatureRequired: true,
    });
  });

  it('never shows more than the first six and last four digits, whatever the terminal sent', () => {
    expect(maskedPanOf(hex('4111111111111111'))).toBe('411111******1111');
    expect(maskedPanOf(hex('EEEEEEEEEEEE4771'))).toBe('************4771');
    expect(maskedPanOf(hex('6712345678901234567F'))).toBe('671234*********4567');
    expect(maskedPanOf(hex('FF'))).toBeUndefined();
  });

  it('intermediate statuses map to progress names', () => {
    expect(progressOf(0x0a)).toBe('present_card');
    expect(progressOf(0x01)).toBe('pin_entry_started');
    expect(progressOf(0x04)).toBe('processing');
    expect(progressOf(0x0b)).toBe('remove_card');
    expect(progressOf(0x4b)).toBe('remove_card');
    expect(progressOf(0x68)).toBe('card_detected');
    expect(progressOf(0x00)).toBe('waiting');
  });
});

describe('character sets', () => {
  it('cp437 (ZVT default), latin1 and utf8 decode, control characters dropped', async () => {
    const { decodeText, encodeText } = await import('../../src/terminal/zvt/index.js');
    expect(decodeText(Buffer.from([0x8e, 0x0d, 0x41]), 'cp437')).toBe('ÄA');
    expect(decodeText(Buffer.from([0xc4]), 'latin1')).toBe('Ä');
    expect(decodeText(Buffer.from('Grüße\r\n', 'utf8'), 'utf8')).toBe('Grüße');
    expect(encodeText('Ä€', 'cp437')).toEqual(Buffer.from([0x8e, 0x3f]));
    expect(encodeText('Ä', 'utf8')).toEqual(Buffer.from('Ä', 'utf8'));
  });
});
