import { describe, expect, it } from 'vitest';
import { SensitiveBytes } from '../../src/card/index.js';
import { decryptTrackData, desEcbEncrypt, encryptTrackData } from '../../src/crypto/index.js';
import { hex, readVectors } from './helpers.js';

const TDK = hex('FEDCBA98765432100123456789ABCDEF');

describe('UnionPay track encryption (TDB)', () => {
  it('encrypts exactly the 8 bytes before the last byte and keeps the rest clear', () => {
    const clear = '6226097806938388D491210100000123000009'; // 38 nibbles = 19 bytes
    const enc = encryptTrackData(TDK, SensitiveBytes.fromText(clear)).reveal().toString('latin1');
    expect(enc).toHaveLength(clear.length);
    // bytes 0..9 (nibbles 0..19) and the last byte (nibbles 36..37) unchanged
    expect(enc.slice(0, 20)).toBe(clear.slice(0, 20));
    expect(enc.slice(36)).toBe(clear.slice(36));
    // the TDB is the ECB encryption of bytes 10..17
    const tdb = hex(clear.slice(20, 36));
    expect(enc.slice(20, 36)).toBe(desEcbEncrypt(TDK, tdb).toString('hex').toUpperCase());
    expect(decryptTrackData(TDK, SensitiveBytes.fromText(enc)).reveal().toString('latin1')).toBe(clear);
  });

  it('handles odd nibble counts and = separators; round trips track 2 and track 3 lengths', () => {
    for (const clear of [
      '6226097806938388=4912101000001230000',
      '6226097806938388D49121010000012300000',
      '996226097806938388D1561560500050000001015949849214000049120D7806938388D000000000D0500000000000000000000000',
    ]) {
      const enc = encryptTrackData(TDK, SensitiveBytes.fromText(clear));
      const back = decryptTrackData(TDK, enc).reveal().toString('latin1');
      expect(back).toBe(clear.replace('=', 'D'));
      expect(enc.reveal().toString('latin1')).not.toBe(clear.replace('=', 'D'));
    }
  });

  it('the TDB position agrees with the encrypted tracks of the j-iso8583 swipe sample', () => {
    const file = readVectors<{ vectors: Array<{ id: string; fields: Record<string, string> }> }>(
      'cup-pos.json',
    );
    const v = file.vectors.find((x) => x.id === 'cup-jiso-0200-swipe-sale-req');
    if (!v) throw new Error('vector missing');
    for (const f of ['35', '36']) {
      const nibbles = v.fields[f] as string;
      const bytes = (nibbles.length + 1) >> 1;
      const tdbStart = 2 * (bytes - 9);
      const tdbEnd = 2 * (bytes - 1);
      // Outside the TDB: only digits and the D separator (clear track); A-F other than D only inside.
      const outside = nibbles.slice(0, tdbStart) + nibbles.slice(tdbEnd);
      expect(outside).toMatch(/^[0-9D]+$/);
      expect(nibbles.slice(tdbStart, tdbEnd)).toMatch(/[ABCEF]/);
    }
  });

  it('rejects short or non-hex tracks without echoing them', () => {
    expect(() => encryptTrackData(TDK, SensitiveBytes.fromText('6226097806938388'))).toThrowError(
      expect.objectContaining({ code: 'bad_track' }),
    );
    let message = '';
    try {
      encryptTrackData(TDK, SensitiveBytes.fromText('6226097806938388X4912101000001230000'));
    } catch (err) {
      message = (err as Error).message;
      expect(err).toMatchObject({ code: 'bad_track' });
    }
    expect(message).not.toContain('6226');
  });
});
