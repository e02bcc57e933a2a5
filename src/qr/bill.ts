/**
 * Trade bills to `BillLine`s.
 *
 * Alipay (`alipay.data.dataservice.bill.downloadurl.query`, bill_type=trade): a ZIP holding GBK CSVs; the
 * detail member ("…业务明细.csv", not "…业务明细(汇总).csv") has `#` comment lines around a header row
 * (支付宝交易号, 商户订单号, 业务类型 交易|退款, 完成时间, 订单金额（元）, 商家实收（元）, 退款批次号/请求号, …);
 * values may carry trailing tabs. Refund rows write 商家实收 negative.
 *
 * WeChat Pay (`/v3/bill/tradebill`, bill_type=ALL): UTF-8 CSV, every value prefixed with a backquote,
 * header row starting 交易时间, then rows, then a summary (总交易单数, …). 交易状态 SUCCESS is a payment,
 * REFUND a refund (退款金额, 商户退款单号); REVOKED rows (a reversed payment, net zero) are left out.
 */
import { providerTimeToIso } from './china-time.js';
import { yuanToFen } from './money.js';
import type { BillLine } from './provider.js';
import { readZip } from './zip.js';

export class BillFormatError extends Error {}

export function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"' && cur.trim() === '') {
      quoted = true;
      cur = '';
    } else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

const clean = (v: string | undefined): string => (v ?? '').replace(/^[\s`]+|[\s`]+$/g, '');

function decodeBillText(data: Buffer): string {
  if (data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) return data.subarray(3).toString('utf8');
  return new TextDecoder('gbk').decode(data);
}

export function parseAlipayBillCsv(text: string): BillLine[] {
  const lines = text.split(/\r?\n/);
  let i = 0;
  while (i < lines.length && (lines[i]!.startsWith('#') || lines[i]!.trim() === '')) i++;
  const head = parseCsvLine(lines[i] ?? '').map(clean);
  const col = (name: string): number => head.findIndex((h) => h === name || h.startsWith(name));
  const cTrade = col('支付宝交易号');
  const cOut = col('商户订单号');
  const cType = col('业务类型');
  const cDone = col('完成时间');
  const cAmount = col('订单金额');
  const cNet = col('商家实收');
  const cReq = col('退款批次号');
  if (cTrade < 0 || cOut < 0 || cType < 0 || cAmount < 0)
    throw new BillFormatError('not an Alipay detail bill');
  const out: BillLine[] = [];
  for (i++; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('#')) break;
    if (line.trim() === '') continue;
    const v = parseCsvLine(line).map(clean);
    const type = v[cType];
    const at = providerTimeToIso(v[cDone]) ?? '';
    if (type === '交易') {
      out.push({
        kind: 'payment',
        outTradeNo: v[cOut] ?? '',
        tradeNo: v[cTrade] ?? '',
        amount: yuanToFen(v[cAmount] ?? '', { allowNegative: true }),
        at,
      });
    } else if (type === '退款') {
      const net = cNet >= 0 ? v[cNet] : undefined;
      const amount = Math.abs(yuanToFen(net || (v[cAmount] ?? ''), { allowNegative: true }));
      const line: BillLine = {
        kind: 'refund',
        outTradeNo: v[cOut] ?? '',
        tradeNo: v[cTrade] ?? '',
        amount,
        at,
      };
      const req = cReq >= 0 ? v[cReq] : '';
      if (req) line.outRequestNo = req;
      out.push(line);
    }
  }
  return out;
}

/** The detail lines of an Alipay bill archive. */
export function parseAlipayBillZip(zip: Buffer): BillLine[] {
  const entries = readZip(zip);
  const detail =
    entries.find((e) => e.name.includes('业务明细') && !e.name.includes('汇总')) ??
    entries.find((e) => decodeBillText(e.data).includes('支付宝交易号') && !e.name.includes('汇总'));
  if (!detail) throw new BillFormatError('the archive has no detail bill');
  return parseAlipayBillCsv(decodeBillText(detail.data));
}

export function parseWechatBill(text: string): BillLine[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const start = lines.findIndex((l) => clean(l).startsWith('交易时间'));
  if (start < 0) throw new BillFormatError('not a WeChat Pay trade bill');
  const head = parseCsvLine(lines[start]!).map(clean);
  const col = (name: string): number => head.indexOf(name);
  const cTime = col('交易时间');
  const cTxn = col('微信订单号');
  const cOut = col('商户订单号');
  const cState = col('交易状态');
  const cTotal = col('订单金额') >= 0 ? col('订单金额') : col('应结订单金额');
  const cRefundNo = col('商户退款单号');
  const cRefund = col('退款金额') >= 0 ? col('退款金额') : col('申请退款金额');
  if (cTxn < 0 || cOut < 0 || cState < 0 || cTotal < 0)
    throw new BillFormatError('WeChat bill header incomplete');
  const out: BillLine[] = [];
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (clean(line).startsWith('总交易单数')) break;
    if (line.trim() === '') continue;
    const v = parseCsvLine(line).map(clean);
    const state = v[cState];
    const at = providerTimeToIso(v[cTime]) ?? '';
    if (state === 'SUCCESS') {
      out.push({
        kind: 'payment',
        outTradeNo: v[cOut] ?? '',
        tradeNo: v[cTxn] ?? '',
        amount: yuanToFen(v[cTotal] ?? ''),
        at,
      });
    } else if (state === 'REFUND') {
      const line: BillLine = {
        kind: 'refund',
        outTradeNo: v[cOut] ?? '',
        tradeNo: v[cTxn] ?? '',
        amount: yuanToFen(v[cRefund] ?? ''),
        at,
      };
      if (cRefundNo >= 0 && v[cRefundNo]) line.outRequestNo = v[cRefundNo];
      out.push(line);
    }
  }
  return out;
}
