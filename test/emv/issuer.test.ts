import { describe, expect, it } from 'vitest';
import {
  decodeScriptResults,
  encodeScriptResults,
  encodeTlv,
  parseIssuerResponse,
  readerIssuerData,
  scriptResultsTlv,
  tlv,
} from '../../src/emv/index.js';
import { vector, vectorBytes } from './vectors.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const up = (b: Buffer): string => b.toString('hex').toUpperCase();

describe('issuer response (vector f55-issuer-response-91-71-72)', () => {
  const blob = vectorBytes('f55-issuer-response-91-71-72');

  it('reads 91 as ARPC + ARC and both script templates', () => {
    const r = parseIssuerResponse(blob);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const iad = r.value.issuerAuthenticationData!;
    expect(iad.method).toBe(1);
    expect(up(iad.arpc)).toBe('CC93F8F8F2F35FA0');
    expect(iad.arc).toBe('00');
    expect(r.value.scripts.map((s) => [s.template, s.idHex, s.commands.map(up), s.element.offset])).toEqual([
      ['71', '00000001', ['841E0000049D642041'], 12],
      ['72', '00000001', ['84240000047C6E0CBF'], 32],
    ]);
    expect(r.value.others).toEqual([]);
    expect(r.value.warnings).toEqual([]);
  });

  it('gives the reader 8A, then 91 and the scripts byte-exact', () => {
    const r = parseIssuerResponse(blob);
    if (!r.ok) throw new Error(r.error.message);
    const data = readerIssuerData({ responseCode: '00', issuerResponse: r.value });
    expect(data.ok).toBe(true);
    if (!data.ok) return;
    expect(up(data.value)).toBe(`8A023030${vector('f55-issuer-response-91-71-72').hex}`);
    const declined = readerIssuerData({ responseCode: '05', authorisationCode: 'AB12' });
    expect(declined.ok && up(declined.value)).toBe('8A0230358906414231322020');
  });

  it('a response code that is not two printable characters is refused', () => {
    expect(readerIssuerData({ responseCode: '0' })).toMatchObject({
      ok: false,
      error: { code: 'bad_response_code' },
    });
    expect(readerIssuerData({ responseCode: '0\n' })).toMatchObject({
      ok: false,
      error: { code: 'bad_response_code' },
    });
    expect(readerIssuerData({ responseCode: '00', authorisationCode: '1234567' })).toMatchObject({
      ok: false,
      error: { code: 'bad_authorisation_code' },
    });
  });

  it('reports the truncated vector as tlv_invalid at the 72 template', () => {
    const r = parseIssuerResponse(vectorBytes('f55-bad-nested-template-truncated'));
    expect(r).toMatchObject({ ok: false, error: { code: 'tlv_invalid', path: '72', offset: 32 } });
  });

  it('reads 91 of 8-16 bytes as ARPC + CSU (+ proprietary) and refuses other lengths', () => {
    const m2 = parseIssuerResponse(encodeTlv([tlv('91', hex('11223344 00800000 AABBCCDD'))]));
    expect(m2.ok && m2.value.issuerAuthenticationData).toMatchObject({ method: 2 });
    if (m2.ok) {
      const iad = m2.value.issuerAuthenticationData!;
      expect([up(iad.arpc), up(iad.csu!), up(iad.proprietary!)]).toEqual([
        '11223344',
        '00800000',
        'AABBCCDD',
      ]);
    }
    // 10 bytes whose last two are not printable cannot be ARPC + ARC: read as method 2
    const ten = parseIssuerResponse(encodeTlv([tlv('91', hex('11223344 00800000 AABB'))]));
    expect(ten.ok && ten.value.issuerAuthenticationData).toMatchObject({ method: 2 });
    expect(parseIssuerResponse(encodeTlv([tlv('91', hex('0102030405'))]))).toMatchObject({
      ok: false,
      error: { code: 'bad_issuer_auth_data', path: '91' },
    });
    expect(
      parseIssuerResponse(
        encodeTlv([tlv('91', hex('0102030405060708 3030')), tlv('91', hex('0102030405060708 3030'))]),
      ),
    ).toMatchObject({
      ok: false,
      error: { code: 'duplicate_issuer_auth_data' },
    });
  });

  it('refuses broken scripts: no command, bad script id, not TLV inside', () => {
    const noCommand = encodeTlv([tlv('71', [tlv('9F18', hex('00000001'))])]);
    expect(parseIssuerResponse(noCommand)).toMatchObject({
      ok: false,
      error: { code: 'bad_script', path: '71' },
    });
    const badId = encodeTlv([tlv('72', [tlv('9F18', hex('000001')), tlv('86', hex('841E000004'))])]);
    expect(parseIssuerResponse(badId)).toMatchObject({
      ok: false,
      error: { code: 'bad_script', path: '72/9F18' },
    });
    const opaque = hex('71 04 9F 18 09 00');
    expect(parseIssuerResponse(opaque)).toMatchObject({
      ok: false,
      error: { code: 'bad_script', path: '71', offset: 0 },
    });
  });

  it('a script without 9F18 is fine; 8A and 89 in field 55 are read', () => {
    const r = parseIssuerResponse(
      encodeTlv([tlv('8A', Buffer.from('00')), tlv('72', [tlv('86', hex('841E000004'))])]),
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.authorisationResponseCode).toBe('00');
    expect(r.value.scripts[0]!.id).toBeUndefined();
  });
});

describe('issuer script results (DF31 / 9F5B)', () => {
  const results = [
    { outcome: 'succeeded' as const, scriptId: hex('00000001') },
    { outcome: 'failed' as const, failedCommand: 2, scriptId: hex('00000002') },
    { outcome: 'not_performed' as const },
    { outcome: 'failed' as const, failedCommand: 20 },
  ];

  it('encodes 5 bytes per script: result nibble, sequence nibble, script id', () => {
    const v = encodeScriptResults(results);
    expect(v.ok && up(v.value)).toBe('2000000001' + '1200000002' + '0000000000' + '1F00000000');
  });

  it('wraps them as UnionPay DF31 or EMV 9F5B', () => {
    const df31 = scriptResultsTlv(results.slice(0, 1));
    expect(df31.ok && up(encodeTlv([df31.value]))).toBe('DF31052000000001');
    const emv = scriptResultsTlv(results.slice(0, 2), '9F5B');
    expect(emv.ok && up(encodeTlv([emv.value]))).toBe('9F5B0A20000000011200000002');
  });

  it('decodes what it encodes, and refuses bad input', () => {
    const v = encodeScriptResults(results);
    if (!v.ok) throw new Error(v.error.message);
    const back = decodeScriptResults(v.value);
    expect(back.ok && back.value.map((r) => [r.outcome, r.sequence, r.scriptIdHex])).toEqual([
      ['succeeded', 0, '00000001'],
      ['failed', 2, '00000002'],
      ['not_performed', 0, '00000000'],
      ['failed', 15, '00000000'],
    ]);
    expect(decodeScriptResults(hex('20000000'))).toMatchObject({ ok: false, error: { code: 'bad_length' } });
    expect(encodeScriptResults([{ outcome: 'succeeded', scriptId: hex('0001') }])).toMatchObject({
      ok: false,
      error: { code: 'bad_script_id', index: 0 },
    });
    expect(encodeScriptResults([{ outcome: 'failed', failedCommand: -1 }])).toMatchObject({
      ok: false,
      error: { code: 'bad_sequence' },
    });
  });

  it('results follow the scripts of a parsed issuer response', () => {
    const r = parseIssuerResponse(vectorBytes('f55-issuer-response-91-71-72'));
    if (!r.ok) throw new Error(r.error.message);
    const v = encodeScriptResults(
      r.value.scripts.map((s) => ({ outcome: 'succeeded' as const, ...(s.id ? { scriptId: s.id } : {}) })),
    );
    expect(v.ok && up(v.value)).toBe('20000000012000000001');
  });
});
