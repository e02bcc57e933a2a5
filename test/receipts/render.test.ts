import { describe, expect, it } from 'vitest';
import {
  buildReceipt,
  charWidth,
  displayWidth,
  formatMinor,
  renderHtml,
  renderText,
  wrap,
  type ReceiptInput,
} from '../../src/engine/receipts/index.js';
import { MERCHANT, PAN, contactless, deviceToken, magstripe, row } from './fixtures.js';

const receipt = (over: Partial<ReceiptInput> = {}) =>
  buildReceipt({ op: row(), config: MERCHANT, copy: 'merchant', reprint: false, ...over });
const text = (over: Partial<ReceiptInput> = {}, width: 32 | 48 = 32): string =>
  renderText(receipt(over), width).join('\n');

describe('amounts', () => {
  it('fen to yuan with exactly two decimals, grouped, by integer arithmetic', () => {
    expect(formatMinor(0)).toBe('0.00');
    expect(formatMinor(5)).toBe('0.05');
    expect(formatMinor(100)).toBe('1.00');
    expect(formatMinor(12_345_600)).toBe('123,456.00');
    expect(formatMinor(999_999_999_999)).toBe('9,999,999,999.99');
    // 0.1 + 0.2 style traps: digits are never floats.
    expect(formatMinor(30)).toBe('0.30');
    expect(formatMinor(-150)).toBe('-1.50');
    expect(formatMinor(123_456, '392')).toBe('123,456');
    expect(() => formatMinor(0.5)).toThrow(RangeError);
  });
});

describe('display width', () => {
  it('CJK and fullwidth characters count two columns, combining marks none', () => {
    expect(displayWidth('abc')).toBe(3);
    expect(displayWidth('消费 SALE')).toBe(9);
    expect(displayWidth('￥１')).toBe(4);
    expect(charWidth(0x0301)).toBe(0);
    expect(displayWidth('北京长城二手汽车销售服务有限公司朝阳分公司')).toBe(42);
  });

  it('wraps without splitting a character or passing the width', () => {
    const name = '北京长城二手汽车销售服务有限公司朝阳分公司';
    expect(wrap(name, 32)).toEqual(['北京长城二手汽车销售服务有限公司', '朝阳分公司']);
    expect(wrap(`${name} Ltd.`, 31).every((l) => displayWidth(l) <= 31)).toBe(true);
    expect(wrap('I ACKNOWLEDGE SATISFACTORY RECEIPT', 16)).toEqual([
      'I ACKNOWLEDGE',
      'SATISFACTORY',
      'RECEIPT',
    ]);
  });
});

describe('receipt content', () => {
  it('chip sale: every field a UnionPay slip carries, AID and TC', () => {
    const r = receipt();
    expect(r).toMatchObject({
      merchant: { name: 'posbridge demo motors', id: '898310048160001' },
      terminalId: 'POSB0001',
      operatorId: 'op-7',
      transaction: { kind: 'sale', name: '消费 SALE' },
      card: { scheme: 'unionpay', panDisplay: '621234*********0010', entry: 'chip', deviceToken: false },
      batch: '000001',
      stan: '000012',
      rrn: '240501123456',
      authCode: '654321',
      date: '2024-05-01',
      time: '14:03:09', // 06:03:09 UTC in Asia/Shanghai
      amount: { minor: 12_345_600, currency: 'CNY', text: '123,456.00' },
      chip: { aid: 'A000000333010101', tc: 'A1B2C3D4E5F60718' },
      signature: { onFile: false },
    });
    const t = text();
    for (const s of [
      'posbridge demo motors',
      '898310048160001',
      'POSB0001',
      'op-7',
      'UNIONPAY',
      '621234*********0010',
      '插卡 CHIP (I)',
      '消费 SALE',
      '000001',
      '000012',
      '240501123456',
      '654321',
      '2024-05-01 14:03:09',
      'CNY 123,456.00',
      'A000000333010101',
      'A1B2C3D4E5F60718',
    ])
      expect(t).toContain(s);
  });

  it('contactless card: entry C, no TC without a final cryptogram', () => {
    const r = receipt({ op: contactless() });
    expect(r.card).toMatchObject({ entry: 'contactless', panDisplay: '621234*********0010' });
    expect(r.chip).toEqual({ aid: 'A000000333010101', tc: null });
    expect(text({ op: contactless() })).toContain('挥卡 CONTACTLESS (C)');
  });

  it("device token: the device account's and the funding card's last four, never the token number", () => {
    const r = receipt({ op: deviceToken() });
    expect(r.card).toMatchObject({
      deviceToken: true,
      panDisplay: null,
      deviceAccountLast4: '4321',
      fundingLast4: '0010',
    });
    const t = text({ op: deviceToken() });
    expect(t).toContain('设备账号 DEVICE ACCOUNT');
    expect(t).toContain('**** 4321');
    expect(t).toMatch(/资金卡号 FUNDING CARD +\*\*\*\* 0010/);
    expect(t).not.toContain('621788');
    expect(t).not.toContain('卡号 CARD NO.');
  });

  it('magstripe: entry S, no chip data', () => {
    const r = receipt({ op: magstripe() });
    expect(r.chip).toBeNull();
    const t = text({ op: magstripe() });
    expect(t).toContain('刷卡 SWIPE (S)');
    expect(t).not.toContain('AID');
  });

  it("refund: its own type and the original's voucher and reference", () => {
    const original = row();
    const refund = row({
      id: 'refund-1',
      kind: 'refund',
      originalId: original.id,
      amount: 500_000,
      approvedAmount: 500_000,
      stan: '000015',
      rrn: '240501123999',
      authCode: null,
      iccRequest: null,
      iccFinal: null,
    });
    const r = receipt({ op: refund, original });
    expect(r.original).toEqual({ batch: '000001', stan: '000012', rrn: '240501123456', date: '0501' });
    const t = text({ op: refund, original });
    expect(t).toContain('退货 REFUND');
    expect(t).toMatch(/原凭证号 ORIG VOUCHER +000012/);
    expect(t).toContain('240501123456');
    expect(t).toContain('CNY 5,000.00');
  });

  it('the reprint mark on reprints only, in every format', () => {
    expect(text()).not.toContain('REPRINT');
    expect(text({ reprint: true })).toContain('*** 重打印 REPRINT ***');
    expect(renderHtml(receipt({ reprint: true }))).toContain('data-reprint="true"');
    expect(renderHtml(receipt())).not.toContain('reprint');
    expect(receipt({ reprint: true }).reprint).toBe(true);
  });

  it('merchant copy: signature block; customer copy: none', () => {
    expect(text()).toContain('持卡人签名 CARDHOLDER SIGNATURE');
    expect(text()).toContain(`X${'_'.repeat(31)}`);
    const signature = { format: 'svg' as const, image: Buffer.from('<svg/>'), sha256: 'ab'.repeat(32) };
    expect(text({ signature })).toContain('SIGNATURE ON FILE');
    const customer = text({ copy: 'customer', signature });
    expect(customer).toContain('持卡人存根 CARDHOLDER COPY');
    expect(customer).not.toContain('SIGNATURE');
    expect(receipt({ copy: 'customer' }).signature).toBeNull();
  });
});

describe('layout', () => {
  const inputs: [string, Partial<ReceiptInput>][] = [
    ['chip', {}],
    ['token', { op: deviceToken(), copy: 'customer', reprint: true }],
    ['swipe', { op: magstripe() }],
    ['CJK merchant', { config: { ...MERCHANT, merchantName: '北京长城二手汽车销售服务有限公司朝阳分公司' } }],
    ['long latin operator', { op: row({ operatorId: 'sales-floor-2-very-long-operator-name-x' }) }],
  ];
  for (const width of [32, 48] as const)
    for (const [name, over] of inputs)
      it(`${width} columns, ${name}: no line wider; rules and label/value lines exactly ${width}`, () => {
        const lines = renderText(receipt(over), width);
        for (const l of lines) expect(displayWidth(l), l).toBeLessThanOrEqual(width);
        for (const l of lines.filter((x) => /^[=-]+$/.test(x))) expect(l.length).toBe(width);
        for (const l of lines.filter((x) => /\S {2,}\S+$/.test(x) && !/^ /.test(x)))
          expect(displayWidth(l), l).toBe(width);
      });

  it('a Chinese merchant name counts two columns per character (exact lines at 32 and 48)', () => {
    const config = { ...MERCHANT, merchantName: '北京长城二手汽车销售服务有限公司朝阳分公司' };
    const at32 = renderText(receipt({ config }), 32);
    expect(at32.slice(3, 6)).toEqual([
      '商户名称 MERCHANT NAME',
      '北京长城二手汽车销售服务有限公司',
      '朝阳分公司',
    ]);
    expect(displayWidth(at32[4]!)).toBe(32);
    const at48 = renderText(receipt({ config }), 48);
    expect(at48.slice(3, 6)).toEqual([
      '商户名称 MERCHANT NAME',
      '北京长城二手汽车销售服务有限公司朝阳分公司',
      '商户编号 MERCHANT NO.            898310048160001',
    ]);
    expect(displayWidth(at48[5]!)).toBe(48);
  });

  it('text snapshots: chip merchant copy, device-token customer reprint, refund (reviewed by eye)', async () => {
    await expect(`${text({}, 32)}\n`).toMatchFileSnapshot('./snapshots/chip-merchant-32.txt');
    await expect(`${text({ op: deviceToken(), copy: 'customer', reprint: true }, 48)}\n`).toMatchFileSnapshot(
      './snapshots/token-customer-reprint-48.txt',
    );
    const original = row();
    const refund = row({
      id: 'r',
      kind: 'refund',
      originalId: original.id,
      amount: 500_000,
      approvedAmount: 500_000,
      stan: '000015',
      rrn: '240501123999',
      authCode: null,
      iccRequest: null,
      iccFinal: null,
    });
    await expect(`${text({ op: refund, original }, 32)}\n`).toMatchFileSnapshot(
      './snapshots/refund-merchant-32.txt',
    );
  });
});

describe('HTML', () => {
  it('escapes every value', () => {
    const html = renderHtml(
      receipt({
        config: { ...MERCHANT, merchantName: `<script>alert("x")</script> & Co's <img src=x onerror=1>` },
        op: row({ operatorId: '<b>op</b>' }),
      }),
    );
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('<b>');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co&#39;s');
    expect(html).toContain('&lt;b&gt;op&lt;/b&gt;');
  });

  it('the merchant copy embeds the signature as an image; the customer copy does not', () => {
    const signature = {
      format: 'png' as const,
      image: Buffer.from('89504e47', 'hex'),
      sha256: 'cd'.repeat(32),
    };
    const merchant = renderHtml(receipt({ signature }), signature);
    expect(merchant).toContain('<img alt="cardholder signature" src="data:image/png;base64,iVBORw==">');
    const customer = renderHtml(receipt({ copy: 'customer', signature }), signature);
    expect(customer).not.toContain('<img');
  });
});

describe('card data', () => {
  it('no receipt in any format or copy holds more of the PAN than the masked form', () => {
    for (const op of [row(), contactless(), deviceToken(), magstripe()])
      for (const copy of ['merchant', 'customer'] as const) {
        const r = buildReceipt({ op, config: MERCHANT, copy, reprint: true });
        const all = [
          JSON.stringify(r),
          renderHtml(r),
          renderText(r, 32).join('\n'),
          renderText(r, 48).join('\n'),
        ];
        for (const s of all) {
          expect(s).not.toContain(PAN);
          expect(s).not.toContain(PAN.slice(6, 15)); // the hidden middle digits
          // Any run of card-like digits is at most 6 + masked + 4.
          for (const m of s.match(/(?<![0-9A-F])\d[\d*]{12,}\d(?![0-9A-F])/g) ?? [])
            expect(m).toMatch(/^\d{0,6}\*+\d{0,4}$|^898310048160001$/);
        }
      }
  });
});
