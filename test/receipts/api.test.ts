import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RpcError, newIdempotencyKey, type PosbridgeClient } from '../../src/api/client/index.js';
import { parseTlv, findTlv } from '../../src/emv/index.js';
import { readSignatureRecord, type StoredSignatureUpload } from '../../src/engine/index.js';
import { MAX_SIGNATURE_BYTES, Receipts } from '../../src/engine/receipts/index.js';
import { startBench, until, type Bench } from '../api/helpers.js';
import { SVG_SIGNATURE, scribble } from './png.js';

// Receipts, printing and signatures through the WebSocket API, against the host simulator.

let b: Bench;
let pb: PosbridgeClient;
const CARD_PAN = '6212345678000000010'; // cup-debit-chip in simulators/cards.json

beforeAll(async () => {
  b = await startBench({
    engine: { merchantName: '北京长城二手汽车销售服务有限公司', timeZone: 'Asia/Shanghai' },
  });
  pb = await b.connected({ operatorId: 'op-7' });
});
afterAll(async () => {
  await b?.close();
});

async function sale(
  amount = 12_345_600,
  card = 'cup-debit-chip',
  entry: 'chip' | 'contactless' | 'magstripe' = 'chip',
) {
  b.reader.pick(card);
  b.reader.entry = entry;
  try {
    const r = await pb.payment.sale({
      idempotencyKey: newIdempotencyKey(),
      orderId: 'CAR-1',
      amount,
      currency: 'CNY',
    });
    return await pb.waitForPayment(r.paymentId);
  } finally {
    b.reader.pick('cup-debit-chip');
    b.reader.entry = 'chip';
  }
}

async function rpcError(p: Promise<unknown>): Promise<RpcError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(RpcError);
  return e as RpcError;
}

describe('receipt.get', () => {
  it('chip sale: JSON with the TC of the final cryptogram; text at 32 and 48 columns; HTML', async () => {
    const p = await sale();
    expect(p.state).toBe('completed');
    const j = await pb.receipt.get({ paymentId: p.paymentId, copy: 'merchant', format: 'json' });
    expect(j.receipt).toMatchObject({
      copy: 'merchant',
      reprint: false,
      merchant: { name: '北京长城二手汽车销售服务有限公司', id: '898310048160001' },
      operatorId: 'op-7',
      transaction: { kind: 'sale', name: '消费 SALE' },
      card: { scheme: 'unionpay', panDisplay: '621234*********0010', entry: 'chip', entryMode: '051' },
      stan: p.host.stan,
      rrn: p.host.rrn,
      authCode: p.host.authCode,
      amount: { minor: 12_345_600, currency: 'CNY', text: '123,456.00' },
      timeZone: 'Asia/Shanghai',
    });
    expect(j.receipt!.chip!.tc).toMatch(/^[0-9A-F]{16}$/);
    for (const width of [32, 48] as const) {
      const t = await pb.receipt.get({ paymentId: p.paymentId, copy: 'customer', format: 'text', width });
      expect(t.text).toContain('持卡人存根 CARDHOLDER COPY');
      expect(t.text).toContain('北京长城二手汽车销售服务有限公司');
      expect(t.text!.split('\n')[2]).toBe('='.repeat(width));
    }
    const h = await pb.receipt.get({ paymentId: p.paymentId, copy: 'merchant', format: 'html' });
    expect(h.html).toMatch(/^<section class="posbridge-receipt" data-copy="merchant">/);
  });

  it('contactless device token and magstripe sales', async () => {
    const token = await sale(1_000_000, 'cup-token-huawei', 'contactless');
    const t = (await pb.receipt.get({ paymentId: token.paymentId, copy: 'customer', format: 'json' }))
      .receipt!;
    expect(t.card).toMatchObject({ deviceToken: true, panDisplay: null, entry: 'contactless' });
    expect(t.card!.deviceAccountLast4).toMatch(/^\d{4}$/);
    expect(t.card!.fundingLast4).toBe('0010');
    const swipe = await sale(2_000_000, 'cup-magstripe', 'magstripe');
    const s = await pb.receipt.get({ paymentId: swipe.paymentId, copy: 'customer', format: 'text' });
    expect(s.text).toContain('刷卡 SWIPE (S)');
    expect(s.text).not.toContain('TC ');
  });

  it('only completed payments have receipts', async () => {
    const declined = await sale(100_051);
    expect(declined.state).toBe('declined');
    const e = await rpcError(
      pb.receipt.get({ paymentId: declined.paymentId, copy: 'customer', format: 'text' }),
    );
    expect(e.code).toBe('wrong_state');
    expect(
      (await rpcError(pb.receipt.get({ paymentId: 'nope', copy: 'customer', format: 'text' }))).code,
    ).toBe('unknown_payment');
  });
});

describe('receipt.print', () => {
  it('prints on the reader; later prints of the same copy are reprints; the last receipt can be reprinted', async () => {
    const printed: string[][] = [];
    const printer = b.reader as unknown as { printLines(lines: readonly string[]): Promise<void> };
    const spy = vi.spyOn(printer, 'printLines').mockImplementation(async (lines) => {
      printed.push([...lines]);
    });
    try {
      const p = await sale(3_000_000);
      const first = await pb.receipt.print({ paymentId: p.paymentId, copy: 'merchant' });
      expect(first).toMatchObject({
        paymentId: p.paymentId,
        copy: 'merchant',
        reprint: false,
        printCount: 1,
      });
      expect(printed[0]!.join('\n')).not.toContain('REPRINT');
      expect(printed[0]!.every((l) => l.length <= 32)).toBe(true);
      const customer = await pb.receipt.print({ paymentId: p.paymentId, copy: 'customer' });
      expect(customer.reprint).toBe(false);
      const again = await pb.receipt.print({ paymentId: p.paymentId, copy: 'merchant' });
      expect(again).toMatchObject({ reprint: true, printCount: 2 });
      expect(printed[2]!.join('\n')).toContain('重打印 REPRINT');
      // The last receipt printed, reprinted: no paymentId.
      const last = await pb.receipt.print({});
      expect(last).toMatchObject({ paymentId: p.paymentId, copy: 'merchant', reprint: true, printCount: 3 });
      // receipt.get now shows the mark on that copy.
      expect(
        (await pb.receipt.get({ paymentId: p.paymentId, copy: 'merchant', format: 'json' })).reprint,
      ).toBe(true);
      // Journaled: the prints and their audit entries.
      const rows = b.journal.db
        .prepare('SELECT copy, reprint FROM receipt_prints WHERE operation_id = ? ORDER BY id')
        .all(p.paymentId);
      expect(rows).toEqual([
        { copy: 'merchant', reprint: 0 },
        { copy: 'customer', reprint: 0 },
        { copy: 'merchant', reprint: 1 },
        { copy: 'merchant', reprint: 1 },
      ]);
      expect(b.journal.auditOf(p.paymentId).map((a) => a.action)).toContain('receipt_reprint');
    } finally {
      spy.mockRestore();
    }
  });

  it('a printer error is print_failed and nothing is journaled', async () => {
    const p = await sale(3_100_000);
    const spy = vi
      .spyOn(b.reader, 'printLines')
      .mockRejectedValue(Object.assign(new Error('no paper'), { code: 'reader_refused' }));
    try {
      const e = await rpcError(pb.receipt.print({ paymentId: p.paymentId }));
      expect(e.code).toBe('print_failed');
      expect(e.retryable).toBe(true);
      expect(
        (await pb.receipt.get({ paymentId: p.paymentId, copy: 'customer', format: 'json' })).printCount,
      ).toBe(0);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('payment.signature', () => {
  it('size limit: 128 KiB as sent, larger is signature_too_large', async () => {
    const p = await sale(4_000_000);
    const pad = (n: number): string => {
      const head = '<svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0 L10 10"/><!--';
      return `${head}${'x'.repeat(n - head.length - 9)}--></svg>`;
    };
    expect(Buffer.byteLength(pad(MAX_SIGNATURE_BYTES))).toBe(MAX_SIGNATURE_BYTES);
    const tooBig = await rpcError(
      pb.payment.signature({ paymentId: p.paymentId, svg: pad(MAX_SIGNATURE_BYTES + 1) }),
    );
    expect(tooBig.code).toBe('signature_too_large');
    const png = await rpcError(
      pb.payment.signature({ paymentId: p.paymentId, png: 'A'.repeat(MAX_SIGNATURE_BYTES + 4) }),
    );
    expect(png.code).toBe('signature_too_large');
    const ok = await pb.payment.signature({ paymentId: p.paymentId, svg: pad(MAX_SIGNATURE_BYTES) });
    expect(ok).toMatchObject({ format: 'svg', bytes: MAX_SIGNATURE_BYTES, existing: false });
  });

  it('refuses what is not a signature image', async () => {
    const p = await sale(4_100_000);
    const cases: [Record<string, string>, string][] = [
      [{ svg: '<svg><script>alert(1)</script></svg>' }, 'signature_invalid'],
      [{ svg: '<svg><path d="M0 0" onclick="x()"/></svg>' }, 'signature_invalid'],
      [{ svg: 'not an svg' }, 'signature_invalid'],
      [{ png: Buffer.from('GIF89a....').toString('base64') }, 'signature_invalid'],
      [{ png: '***' }, 'signature_invalid'],
      [{ svg: SVG_SIGNATURE, png: scribble().toString('base64') }, 'invalid_params'],
      [{}, 'invalid_params'],
    ];
    for (const [params, code] of cases)
      expect(
        (await rpcError(pb.payment.signature({ paymentId: p.paymentId, ...params }))).code,
        JSON.stringify(params).slice(0, 40),
      ).toBe(code);
  });

  it('kept with the payment, on the merchant copy; uploaded as 0920 and answered 0930', async () => {
    const p = await sale(5_000_000);
    expect((await pb.payment.get({ paymentId: p.paymentId })).signed).toBe(false);
    const image = scribble();
    const r = await pb.payment.signature({
      paymentId: p.paymentId,
      png: `data:image/png;base64,${image.toString('base64')}`,
    });
    expect(r).toMatchObject({ paymentId: p.paymentId, format: 'png', bytes: image.length, existing: false });
    expect(['queued', 'sent']).toContain(r.upload);
    // The payment says so itself (a page reloaded later does not ask again).
    expect((await pb.payment.get({ paymentId: p.paymentId })).signed).toBe(true);
    expect((await pb.order.get(p.orderId!)).operations.find((o) => o.paymentId === p.paymentId)?.signed).toBe(true);

    // Kept: the merchant copy embeds it (HTML) or says so (text); the customer copy does not.
    const html = await pb.receipt.get({ paymentId: p.paymentId, copy: 'merchant', format: 'html' });
    expect(html.html).toContain(
      `<img alt="cardholder signature" src="data:image/png;base64,${image.toString('base64')}">`,
    );
    const text = await pb.receipt.get({ paymentId: p.paymentId, copy: 'merchant', format: 'text' });
    expect(text.text).toContain('SIGNATURE ON FILE');
    const json = await pb.receipt.get({ paymentId: p.paymentId, copy: 'merchant', format: 'json' });
    expect(json.receipt!.signature).toEqual({ onFile: true, format: 'png', sha256: r.sha256 });
    const customer = await pb.receipt.get({ paymentId: p.paymentId, copy: 'customer', format: 'html' });
    expect(customer.html).not.toContain('<img');

    // Queued in the advice lane, sent as 0920 (not MACed), answered 00 by the host.
    await until(
      () => b.journal.safOf(p.paymentId).some((s) => s.kind === 'esign_upload' && s.status === 'done'),
      5000,
    );
    const attempt = b.journal.attemptsOf(p.paymentId).find((a) => a.mti === '0920')!;
    expect(attempt).toMatchObject({ purpose: 'upload', outcome: 'answered', responseCode: '00' });
    const hostTx = b.sim.ledger.txByRrn(p.host.rrn!)!;
    expect(hostTx.signature?.bytes).toBeGreaterThan(14);
    expect(hostTx.signature?.bytes).toBeLessThanOrEqual(512);
    expect(
      (await pb.payment.signature({ paymentId: p.paymentId, png: image.toString('base64') })).upload,
    ).toBe('sent');

    // What was sent: field 62 the image record (≤ 512 bytes), field 55 the e-signature TLV.
    const item = b.journal.safOf(p.paymentId).find((s) => s.kind === 'esign_upload')!;
    const stored = item.message as unknown as StoredSignatureUpload;
    expect(stored).toMatchObject({
      mti: '0920',
      transactionType: '07',
      networkCode: '800',
      imageField: 62,
      tlvField: 55,
    });
    const record = readSignatureRecord(Buffer.from(stored.image, 'hex'));
    expect(record).toMatchObject({ version: 1, encoding: 1, digest: r.sha256.slice(0, 16) });
    expect(record.width).toBeLessThanOrEqual(192);
    expect(record.height).toBeLessThanOrEqual(64);
    expect(record.bitmap.px.reduce((a, v) => a + v, 0)).toBeGreaterThan(50);
    const tlv = parseTlv(Buffer.from(stored.tlv!, 'hex'), { privateTags: 'primitive' });
    // FF00 is not minimal BER (as in UnionPay's own uploads): kept as sent, with that warning only.
    expect(tlv.warnings.map((w) => w.code)).toEqual(['tag_non_minimal']);
    expect(tlv.elements.map((e) => [e.tag, e.opaque])).toEqual([
      ['FF00', false],
      ['FF01', false],
      ['FF06', false],
    ]);
    expect(new TextDecoder('gbk').decode(findTlv(tlv.elements, 'FF00')!.value)).toBe(
      '北京长城二手汽车销售服务有限公司',
    );
    expect(new TextDecoder('gbk').decode(findTlv(tlv.elements, 'FF01')!.value)).toBe('消费');
    expect(findTlv(tlv.elements, 'FF06')!.value.toString('hex')).toMatch(/^20\d{12}$/);
  });

  it('the same image again changes nothing; a different one is signature_exists', async () => {
    const p = await sale(5_100_000);
    const first = await pb.payment.signature({ paymentId: p.paymentId, svg: SVG_SIGNATURE });
    const again = await pb.payment.signature({ paymentId: p.paymentId, svg: SVG_SIGNATURE });
    expect(again).toMatchObject({ existing: true, sha256: first.sha256 });
    const other = await rpcError(
      pb.payment.signature({ paymentId: p.paymentId, svg: SVG_SIGNATURE.replace('290 20', '280 20') }),
    );
    expect(other.code).toBe('signature_exists');
    await until(
      () => b.journal.safOf(p.paymentId).some((s) => s.kind === 'esign_upload' && s.status === 'done'),
      5000,
    );
    const stored = b.journal.safOf(p.paymentId).find((s) => s.kind === 'esign_upload')!
      .message as unknown as StoredSignatureUpload;
    const record = readSignatureRecord(Buffer.from(stored.image, 'hex'));
    expect(record.encoding).toBe(1);
    expect(record.bitmap.px.reduce((a, v) => a + v, 0)).toBeGreaterThan(50);
    expect(b.journal.safOf(p.paymentId).filter((s) => s.kind === 'esign_upload')).toHaveLength(1);
  });

  it('a dialect without an e-signature upload: the signature is kept, nothing is queued', async () => {
    const p = await sale(5_200_000);
    const receipts = new Receipts({
      journal: b.journal,
      reader: b.reader,
      config: b.engine.config,
      signatureUpload: undefined,
      saf: b.engine.saf,
      now: () => new Date(),
    });
    const r = receipts.attachSignature({ paymentId: p.paymentId, svg: SVG_SIGNATURE, operatorId: 'op-7' });
    expect(r).toMatchObject({ format: 'svg', upload: 'none', existing: false });
    expect(b.journal.safOf(p.paymentId).filter((s) => s.kind === 'esign_upload')).toEqual([]);
    expect(
      (await pb.receipt.get({ paymentId: p.paymentId, copy: 'merchant', format: 'text' })).text,
    ).toContain('SIGNATURE ON FILE');
  });

  it('only completed payments take a signature', async () => {
    const declined = await sale(100_051);
    expect(
      (await rpcError(pb.payment.signature({ paymentId: declined.paymentId, svg: SVG_SIGNATURE }))).code,
    ).toBe('wrong_state');
  });
});

describe('card data', () => {
  it('no receipt the API gives holds the clear PAN', async () => {
    const payments = (await pb.payment.list({ limit: 50 })).payments.filter((p) => p.state === 'completed');
    expect(payments.length).toBeGreaterThan(3);
    for (const p of payments)
      for (const copy of ['merchant', 'customer'] as const)
        for (const format of ['text', 'html', 'json'] as const) {
          const r = JSON.stringify(await pb.receipt.get({ paymentId: p.paymentId, copy, format }));
          expect(r).not.toContain(CARD_PAN);
          expect(r).not.toContain(CARD_PAN.slice(6, 15));
        }
  });
});
