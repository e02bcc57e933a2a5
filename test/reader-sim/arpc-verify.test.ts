/**
 * ARPC method 1 on the card side (simulators/shared/cryptogram.ts `verifyArpc`) and the reader
 * simulator's second GENERATE AC (`completeCard`): EMV Book 2 A1.3.1 takes the ARC as two binary bytes,
 * so an altered tag 91 (wrong length, a non-printable ARC, a flipped bit) fails verification - false,
 * never a throw - and the reader sets TVR byte 5 bit 7 (issuer authentication failed, 0x40) and declines.
 */
import { describe, expect, it } from 'vitest';
import { DesKey } from '../../src/crypto/index.js';
import { encodeTlv, findTlv, parseTlv, tlv } from '../../src/emv/index.js';
import { loadCards } from '../../simulators/shared/cards.js';
import {
  chipRequestData,
  issuerAuthenticationData,
  sessionKeyFor,
  verifyArpc,
} from '../../simulators/shared/cryptogram.js';
import { completeCard, readCard, type CardRead } from '../../simulators/reader/card-data.js';

const cards = loadCards();
const cd = cards.byId('cup-debit-chip');
if (!cd?.imk) throw new Error('no chip test card cup-debit-chip');
const keys = { imk: cd.imk, pan: cd.pan, psn: cd.psn };

function firstAc(): { sk: Buffer; arqc: Buffer } {
  const f55 = chipRequestData(keys, { amount: 100, atc: 7, date: '261205' });
  const els = parseTlv(f55).elements;
  return {
    sk: sessionKeyFor(keys, findTlv(els, '9F36')!.value),
    arqc: Buffer.from(findTlv(els, '9F26')!.value),
  };
}

/** ARPC method 1 computed independently: 3DES_SK(ARQC XOR (ARC || 00 x 6)), ARC as binary bytes. */
function arpcRef(sk: Buffer, arqc: Buffer, arc: Buffer): Buffer {
  const y = Buffer.from(arqc);
  y[0] = y[0]! ^ arc[0]!;
  y[1] = y[1]! ^ arc[1]!;
  return DesKey.from(sk, 'key').encryptEcb(y);
}

describe('verifyArpc (ARPC method 1, binary ARC)', () => {
  const { sk, arqc } = firstAc();

  it('accepts the issuer authentication data the host simulator builds', () => {
    const iad = issuerAuthenticationData(sk, arqc, '00');
    expect(iad.length).toBe(10);
    expect(iad.subarray(0, 8)).toEqual(arpcRef(sk, arqc, Buffer.from('00', 'latin1')));
    expect(verifyArpc(sk, arqc, iad)).toBe(true);
  });

  it('accepts a correct ARPC over a non-printable (binary) ARC', () => {
    for (const arc of [Buffer.from([0x00, 0x00]), Buffer.from([0xff, 0x01]), Buffer.from([0x30, 0x80])]) {
      const iad = Buffer.concat([arpcRef(sk, arqc, arc), arc]);
      expect(verifyArpc(sk, arqc, iad)).toBe(true);
    }
  });

  it('returns false, never throws, for an altered tag 91', () => {
    const good = issuerAuthenticationData(sk, arqc, '00');
    const altered: Buffer[] = [
      // the ARC bytes replaced by non-printable ones (the ARPC no longer matches)
      Buffer.concat([good.subarray(0, 8), Buffer.from([0x00, 0x01])]),
      Buffer.concat([good.subarray(0, 8), Buffer.from([0xff, 0xff])]),
      Buffer.concat([good.subarray(0, 8), Buffer.from([0x30, 0x1f])]),
      // wrong lengths
      Buffer.alloc(0),
      good.subarray(0, 8),
      good.subarray(0, 9),
      Buffer.concat([good, Buffer.from([0x00])]),
      Buffer.alloc(16, 0xa5),
    ];
    // every single-bit flip of the ARPC and the ARC
    for (let i = 0; i < 80; i++) {
      const b = Buffer.from(good);
      b[i >> 3] = b[i >> 3]! ^ (0x80 >> (i & 7));
      altered.push(b);
    }
    for (const iad of altered) {
      expect(() => verifyArpc(sk, arqc, iad)).not.toThrow();
      expect(verifyArpc(sk, arqc, iad)).toBe(false);
    }
  });

  it('returns false for an ARQC that is not 8 bytes', () => {
    const good = issuerAuthenticationData(sk, arqc, '00');
    expect(verifyArpc(sk, arqc.subarray(0, 7), good)).toBe(false);
  });
});

describe('reader simulator second GENERATE AC with an altered 91', () => {
  const workingKeys = {
    scheme: 'des' as const,
    pik: DesKey.from(Buffer.alloc(16, 0x11), 'pik'),
    mak: DesKey.from(Buffer.alloc(8, 0x22), 'mak'),
    tdk: undefined,
  };

  function chipRead(): CardRead {
    return readCard({
      card: cd!,
      iface: 'chip',
      fallback: false,
      request: { amount: 100n, currency: '156', type: 'sale', interfaces: ['chip'], pinAllowed: false },
      keys: workingKeys,
      atc: 42,
      transactionCounter: 1,
      wrongPin: false,
      terminalSerial: 'SIM00001',
    });
  }

  function complete(read: CardRead, iad: Buffer) {
    const issuerData = encodeTlv([tlv('91', iad), tlv('8A', Buffer.from('00', 'latin1'))]);
    return completeCard({ read, approved: true, unableToGoOnline: false, issuerData, chipDeclines: false });
  }

  function tvrOf(iccData: Buffer | undefined): Buffer {
    return Buffer.from(findTlv(parseTlv(iccData!).elements, '95')!.value);
  }

  it('a genuine 91 authenticates the issuer: TC, TVR bit clear', () => {
    const read = chipRead();
    expect(read.secondGenerateAc).toBe(true);
    const els = read.iccElements!;
    const sk = sessionKeyFor(keys, findTlv(els, '9F36')!.value);
    const done = complete(read, issuerAuthenticationData(sk, findTlv(els, '9F26')!.value, '00'));
    expect(done.issuerAuthenticated).toBe(true);
    expect(done.cryptogram).toBe('tc');
    expect(tvrOf(done.iccData)[4]! & 0x40).toBe(0);
  });

  it('a 91 with a non-printable ARC sets "issuer authentication failed" and declines, without throwing', () => {
    const read = chipRead();
    const els = read.iccElements!;
    const sk = sessionKeyFor(keys, findTlv(els, '9F36')!.value);
    const good = issuerAuthenticationData(sk, findTlv(els, '9F26')!.value, '00');
    for (const arc of [
      [0x00, 0x01],
      [0xff, 0xfe],
      [0x30, 0x00],
    ]) {
      const iad = Buffer.concat([good.subarray(0, 8), Buffer.from(arc)]);
      const done = complete(read, iad);
      expect(done.issuerAuthenticated).toBe(false);
      expect(done.cryptogram).toBe('aac');
      expect(tvrOf(done.iccData)[4]! & 0x40).toBe(0x40);
    }
  });

  it('a binary 8A (not two printable characters) is taken as two bytes into the cryptogram, not a crash', () => {
    const read = chipRead();
    const els = read.iccElements!;
    const sk = sessionKeyFor(keys, findTlv(els, '9F36')!.value);
    const arqc = findTlv(els, '9F26')!.value;
    const issuerData = encodeTlv([
      tlv('91', issuerAuthenticationData(sk, arqc, '00')),
      tlv('8A', Buffer.from([0x00, 0xff])),
    ]);
    const done = completeCard({
      read,
      approved: true,
      unableToGoOnline: false,
      issuerData,
      chipDeclines: false,
    });
    // 8A goes back to the host as received; the card computed its cryptogram over those two bytes.
    expect(findTlv(parseTlv(done.iccData!).elements, '8A')!.value).toEqual(Buffer.from([0x00, 0xff]));
    const printable = completeCard({
      read: chipRead(),
      approved: true,
      unableToGoOnline: false,
      issuerData: encodeTlv([
        tlv('91', issuerAuthenticationData(sk, arqc, '00')),
        tlv('8A', Buffer.from('00', 'latin1')),
      ]),
      chipDeclines: false,
    });
    expect(findTlv(parseTlv(done.iccData!).elements, '9F26')!.value).not.toEqual(
      findTlv(parseTlv(printable.iccData!).elements, '9F26')!.value,
    );
  });

  it('a 91 with a flipped ARPC bit or the wrong length sets the bit too', () => {
    const read = chipRead();
    const els = read.iccElements!;
    const sk = sessionKeyFor(keys, findTlv(els, '9F36')!.value);
    const good = issuerAuthenticationData(sk, findTlv(els, '9F26')!.value, '00');
    const flipped = Buffer.from(good);
    flipped[3] = flipped[3]! ^ 0x04;
    for (const iad of [flipped, good.subarray(0, 9), Buffer.concat([good, Buffer.from([0x00, 0x00])])]) {
      const done = complete(read, iad);
      expect(done.issuerAuthenticated).toBe(false);
      expect(done.cryptogram).toBe('aac');
      expect(tvrOf(done.iccData)[4]! & 0x40).toBe(0x40);
    }
  });
});
