/** Bill parsing edge cases: ZIP integrity, GBK, quoted values, trailing tabs, WeChat backquotes. */
import { describe, expect, it } from 'vitest';
import {
  ZipError,
  parseAlipayBillCsv,
  parseAlipayBillZip,
  parseCsvLine,
  parseWechatBill,
  readZip,
} from '../../src/qr/index.js';
import { ALIPAY_BILL_HEADER, WECHAT_BILL_HEADER, encodeGbk, writeZip } from '../../simulators/qr/bills.js';

describe('bills', () => {
  it('CSV lines with quotes and commas', () => {
    expect(parseCsvLine('a,"b,c","d ""e""",')).toEqual(['a', 'b,c', 'd "e"', '']);
  });

  it('Alipay: GBK member names and text, trailing tabs, refunds negative; the summary member is ignored', () => {
    const detail = [
      '#支付宝业务明细查询',
      '#-----------------------------------------业务明细列表----------------------------------------',
      ALIPAY_BILL_HEADER,
      `2024051322001400000000000001\t,ORDER1\t,交易,"茶, 大杯",2024-05-13 10:00:00,2024-05-13 10:00:05,,,,,159****5620,12.30,12.30,0.00,0.00,0.00,0.00,0.00,,0.00,0.00,,0.00,0.00,`,
      `2024051322001400000000000001\t,ORDER1\t,退款,"茶, 大杯",2024-05-13 10:00:00,2024-05-13 11:00:00,,,,,159****5620,12.30,-0.30,0.00,0.00,0.00,0.00,0.00,,0.00,0.00,RF1\t,0.00,0.00,`,
      '#-----------------------------------------业务明细列表结束------------------------------------',
    ].join('\r\n');
    const zip = writeZip([
      { name: encodeGbk('2088_20240513_业务明细(汇总).csv'), data: encodeGbk('#汇总\r\n门店编号,合计\r\n') },
      { name: encodeGbk('2088_20240513_业务明细.csv'), data: encodeGbk(detail) },
    ]);
    expect(readZip(zip).map((e) => e.name)).toEqual([
      '2088_20240513_业务明细(汇总).csv',
      '2088_20240513_业务明细.csv',
    ]);
    expect(parseAlipayBillZip(zip)).toEqual([
      {
        kind: 'payment',
        outTradeNo: 'ORDER1',
        tradeNo: '2024051322001400000000000001',
        amount: 1230,
        at: '2024-05-13T02:00:05.000Z',
      },
      {
        kind: 'refund',
        outTradeNo: 'ORDER1',
        tradeNo: '2024051322001400000000000001',
        outRequestNo: 'RF1',
        amount: 30,
        at: '2024-05-13T03:00:00.000Z',
      },
    ]);
    const broken = Buffer.from(zip);
    const dataAt = 30 + broken.readUInt16LE(26) + 2;
    broken[dataAt] = broken[dataAt]! ^ 0xff;
    expect(() => readZip(broken)).toThrow(ZipError);
    expect(() => readZip(Buffer.from('not a zip'))).toThrow(ZipError);
    expect(() => parseAlipayBillCsv('a,b\n1,2')).toThrow();
  });

  it('WeChat: backquotes, REVOKED rows left out, summary ends the rows', () => {
    const row = (state: string, refundNo: string, refund: string): string =>
      [
        '2024-05-13 10:00:05',
        'wx1',
        '1900000109',
        '0',
        '',
        '4200000001',
        'ORDER2',
        'oUpF8u',
        'MICROPAY',
        state,
        'OTHERS',
        'CNY',
        '1.00',
        '0.00',
        '0',
        refundNo,
        refund,
        '0.00',
        '',
        '',
        'x',
        '',
        '0.00',
        '0.60%',
        '1.00',
        refund,
        '',
      ]
        .map((v) => `\`${v}`)
        .join(',');
    const text = [
      WECHAT_BILL_HEADER,
      row('SUCCESS', '0', '0.00'),
      row('REFUND', 'RF2', '0.25'),
      row('REVOKED', '0', '0.00'),
      '总交易单数,应结订单总金额',
      '`3,`1.00',
    ].join('\r\n');
    expect(parseWechatBill(text)).toEqual([
      {
        kind: 'payment',
        outTradeNo: 'ORDER2',
        tradeNo: '4200000001',
        amount: 100,
        at: '2024-05-13T02:00:05.000Z',
      },
      {
        kind: 'refund',
        outTradeNo: 'ORDER2',
        tradeNo: '4200000001',
        outRequestNo: 'RF2',
        amount: 25,
        at: '2024-05-13T02:00:05.000Z',
      },
    ]);
    expect(() => parseWechatBill('hello')).toThrow();
  });
});
