/** Journal rows for receipt tests: what the engine journals for a chip, contactless, token and swipe sale. */
import { encodeTlv, tlv } from '../../src/emv/index.js';
import type { CardFacts, OperationRow } from '../../src/journal/index.js';

export const PAN = '6212345678000000010';
export const MERCHANT = {
  merchantId: '898310048160001',
  merchantName: 'posbridge demo motors',
  timeZone: 'Asia/Shanghai',
};

const h = (s: string): Buffer => Buffer.from(s, 'hex');

const chipCard: CardFacts = {
  maskedPan: '621234*********0010',
  fingerprint: 'fp1:k1:00',
  scheme: 'unionpay',
  kind: 'chip',
  entryMode: '051',
  panDisplay: '621234*********0010',
  cardSequenceNumber: '001',
};

export function row(patch: Partial<OperationRow> = {}): OperationRow {
  return {
    id: 'b1c2d3e4-0000-4000-8000-000000000001',
    kind: 'sale',
    idempotencyKey: 'k-1',
    paramsHash: 'x',
    operatorId: 'op-7',
    orderId: 'CAR-2024-0001',
    originalId: null,
    amount: 12_345_600,
    currency: '156',
    approvedAmount: 12_345_600,
    state: 'completed',
    reason: null,
    terminalId: 'POSB0001',
    readerId: null,
    batch: '000001',
    stan: '000012',
    localDate: '0501',
    rrn: '240501123456',
    authCode: '654321',
    responseCode: '00',
    card: chipCard,
    // Field 55 as sent (84: the AID) and the card's final cryptogram (9F27 40: a TC).
    iccRequest: encodeTlv([
      tlv('9F26', h('1122334455667788')),
      tlv('9F27', h('80')),
      tlv('84', h('A000000333010101')),
    ]),
    iccFinal: encodeTlv([tlv('9F26', h('A1B2C3D4E5F60718')), tlv('9F27', h('40'))]),
    result: null,
    supervisor: null,
    cancelRequested: null,
    createdAt: '2024-05-01T06:03:09.000Z',
    updatedAt: '2024-05-01T06:03:11.000Z',
    ...patch,
  };
}

export const contactless = (): OperationRow =>
  row({
    card: { ...chipCard, kind: 'contactless', entryMode: '072' },
    iccFinal: null,
  });

export const deviceToken = (): OperationRow =>
  row({
    card: {
      maskedPan: '621788*********4321',
      fingerprint: 'fp1:k1:01',
      scheme: 'unionpay',
      kind: 'device_token',
      entryMode: '072',
      panDisplay: '621788*********4321',
      par: 'Q1J4AwSWD4Z8Rz9bXz8hFd2P8sCX1',
      tokenRequestorId: '00040010030273',
      deviceAccountLast4: '4321',
      fundingLast4: '0010',
    },
    iccFinal: null,
  });

export const magstripe = (): OperationRow =>
  row({
    card: { ...chipCard, kind: 'magstripe', entryMode: '022' },
    iccRequest: null,
    iccFinal: null,
  });
