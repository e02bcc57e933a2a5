/**
 * Bill files as the providers serve them: Alipay a ZIP of GBK CSVs (detail + summary, `#` comment lines,
 * values with trailing tabs), WeChat Pay a UTF-8 CSV with backquote-prefixed values and a summary.
 * Reversed trades are left out (net zero).
 */
import { deflateRawSync } from 'node:zlib';
import { cstDateTime, crc32, fenToYuan } from '../../src/qr/index.js';
import type { QrLedger } from './ledger.js';

let gbkTable: Map<string, number> | undefined;

/** Encodes text as GBK (a reverse table built once from the platform's GBK decoder). */
export function encodeGbk(text: string): Buffer {
  if (!gbkTable) {
    gbkTable = new Map();
    const dec = new TextDecoder('gbk');
    for (let hi = 0x81; hi <= 0xfe; hi++) {
      for (let lo = 0x40; lo <= 0xfe; lo++) {
        if (lo === 0x7f) continue;
        const ch = dec.decode(Uint8Array.of(hi, lo));
        if (ch.length === 1 && ch !== '\ufffd' && !gbkTable.has(ch)) gbkTable.set(ch, (hi << 8) | lo);
      }
    }
  }
  const out: number[] = [];
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (c < 0x80) out.push(c);
    else {
      const g = gbkTable.get(ch);
      if (g === undefined) out.push(0x3f);
      else out.push(g >> 8, g & 0xff);
    }
  }
  return Buffer.from(out);
}

/** A ZIP (deflate members, GBK names without the UTF-8 flag, like Alipay's). */
export function writeZip(entries: { name: Buffer; data: Buffer }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const comp = deflateRawSync(e.data);
    const crc = crc32(e.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0, 6);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(comp.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(e.name.length, 26);
    locals.push(local, e.name, comp);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(comp.length, 20);
    central.writeUInt32LE(e.data.length, 24);
    central.writeUInt16LE(e.name.length, 28);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, e.name);
    offset += 30 + e.name.length + comp.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

const csv = (v: string): string => (/[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
const cst = (iso: string | undefined): string => (iso ? cstDateTime(new Date(iso)) : '');

export const ALIPAY_BILL_HEADER =
  '支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,' +
  '商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,' +
  '卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注';

/** undefined when the day has no business (the gateway then answers isp.bill_not_exist). */
export function alipayBill(ledger: QrLedger, date: string, account: string): Buffer | undefined {
  const { paid, refunds } = ledger.forBill('alipay', date);
  const trades = paid.filter((t) => t.status !== 'reversed');
  if (trades.length === 0 && refunds.length === 0) return undefined;
  const compact = date.replaceAll('-', '');
  const [y, m, d] = date.split('-');
  const rows: string[] = [];
  let paidSum = 0;
  let refundSum = 0;
  for (const t of trades) {
    paidSum += t.amount;
    const a = fenToYuan(t.amount);
    rows.push(
      [
        `${t.tradeNo}\t`,
        `${t.outTradeNo}\t`,
        '交易',
        csv(t.subject),
        cst(t.createdAt),
        cst(t.paidAt),
        '',
        '',
        '',
        '',
        t.buyerLogonId,
        a,
        a,
        '0.00',
        '0.00',
        '0.00',
        '0.00',
        '0.00',
        '',
        '0.00',
        '0.00',
        '',
        '0.00',
        '0.00',
        '',
      ].join(','),
    );
  }
  for (const r of refunds) {
    refundSum += r.amount;
    const t = ledger.trade('alipay', r.outTradeNo);
    rows.push(
      [
        `${r.tradeNo}\t`,
        `${r.outTradeNo}\t`,
        '退款',
        csv(t?.subject ?? ''),
        cst(t?.createdAt),
        cst(r.successAt),
        '',
        '',
        '',
        '',
        t?.buyerLogonId ?? '',
        fenToYuan(t?.amount ?? r.amount),
        `-${fenToYuan(r.amount)}`,
        '0.00',
        '0.00',
        '0.00',
        '0.00',
        '0.00',
        '',
        '0.00',
        '0.00',
        `${r.outRequestNo}\t`,
        '0.00',
        '0.00',
        '',
      ].join(','),
    );
  }
  const detail = [
    '#支付宝业务明细查询',
    `#账号：[${account}]`,
    `#起始日期：[${y}年${m}月${d}日 00:00:00]   终止日期：[${y}年${m}月${d}日 23:59:59]`,
    '#-----------------------------------------业务明细列表----------------------------------------',
    ALIPAY_BILL_HEADER,
    ...rows,
    '#-----------------------------------------业务明细列表结束------------------------------------',
    `#交易合计：${trades.length}笔，商家实收：${fenToYuan(paidSum)}元，商家优惠：0.00元`,
    `#退款合计：${refunds.length}笔，商家实收：-${fenToYuan(refundSum)}元，商家优惠：0.00元`,
    `#导出时间：[${cstDateTime(new Date())}]`,
    '',
  ].join('\r\n');
  const summary = [
    '#支付宝业务汇总查询',
    `#账号：[${account}]`,
    '#-----------------------------------------业务汇总列表----------------------------------------',
    '门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）',
    `合计,,${trades.length},${refunds.length},${fenToYuan(paidSum)},${fenToYuan(Math.max(0, paidSum - refundSum))}`,
    '#-----------------------------------------业务汇总列表结束------------------------------------',
    '',
  ].join('\r\n');
  return writeZip([
    { name: encodeGbk(`${account}_${compact}_业务明细.csv`), data: encodeGbk(detail) },
    { name: encodeGbk(`${account}_${compact}_业务明细(汇总).csv`), data: encodeGbk(summary) },
  ]);
}

export const WECHAT_BILL_HEADER =
  '交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,' +
  '应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,' +
  '费率,订单金额,申请退款金额,费率备注';

export function wechatBill(ledger: QrLedger, date: string, mchid: string, appid: string): Buffer | undefined {
  const { paid, refunds } = ledger.forBill('wechat', date);
  const trades = paid.filter((t) => t.status !== 'reversed');
  if (trades.length === 0 && refunds.length === 0) return undefined;
  const q = (v: string): string => `\`${v.replaceAll(',', ' ')}`;
  const rows: string[] = [];
  let paidSum = 0;
  let refundSum = 0;
  for (const t of trades) {
    paidSum += t.amount;
    const a = fenToYuan(t.amount);
    rows.push(
      [
        cst(t.paidAt),
        appid,
        mchid,
        '0',
        '',
        t.tradeNo,
        t.outTradeNo,
        t.openid,
        t.kind === 'code' ? 'MICROPAY' : 'NATIVE',
        'SUCCESS',
        'OTHERS',
        'CNY',
        a,
        '0.00',
        '0',
        '0',
        '0.00',
        '0.00',
        '',
        '',
        t.subject,
        '',
        '0.00000',
        '0.60%',
        a,
        '0.00',
        '',
      ]
        .map(q)
        .join(','),
    );
  }
  for (const r of refunds) {
    refundSum += r.amount;
    const t = ledger.trade('wechat', r.outTradeNo);
    const a = fenToYuan(r.amount);
    rows.push(
      [
        cst(r.successAt),
        appid,
        mchid,
        '0',
        '',
        r.tradeNo,
        r.outTradeNo,
        t?.openid ?? '',
        t?.kind === 'code' ? 'MICROPAY' : 'NATIVE',
        'REFUND',
        'OTHERS',
        'CNY',
        '0.00',
        '0.00',
        r.refundId,
        r.outRequestNo,
        a,
        '0.00',
        'ORIGINAL',
        'SUCCESS',
        t?.subject ?? '',
        '',
        '0.00000',
        '0.60%',
        fenToYuan(t?.amount ?? r.amount),
        a,
        '',
      ]
        .map(q)
        .join(','),
    );
  }
  const text = [
    WECHAT_BILL_HEADER,
    ...rows,
    '总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额',
    [
      String(trades.length + refunds.length),
      fenToYuan(paidSum),
      fenToYuan(refundSum),
      '0.00',
      '0.00000',
      fenToYuan(paidSum),
      fenToYuan(refundSum),
    ]
      .map(q)
      .join(','),
    '',
  ].join('\r\n');
  return Buffer.from(text, 'utf8');
}
