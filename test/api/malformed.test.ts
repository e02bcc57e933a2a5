import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKEN, errorData, startBench, type Bench, type RawSocket } from './helpers.js';

let b: Bench;
let r: RawSocket;
let saleId: string;

beforeAll(async () => {
  b = await startBench({
    api: {
      auth: { tokens: { verify: (t) => ({ ok: t === TOKEN }) }, allowedOrigins: [], helloDeadlineMs: 60_000 },
    },
  });
  const pb = await b.connected();
  saleId = (await pb.payment.sale({ idempotencyKey: 'm-1', orderId: 'O', amount: 1000, currency: 'CNY' }))
    .paymentId;
  await pb.waitForPayment(saleId);
  r = await b.raw();
  expect((await r.call('session.hello', { token: TOKEN }))['result']).toBeDefined();
});
afterAll(async () => {
  await b?.close();
});

/** After every bad message the same socket still answers a good one. */
async function stillUsable(): Promise<void> {
  const res = await r.call('payment.get', { paymentId: saleId });
  expect(res['result']).toMatchObject({ paymentId: saleId, state: 'completed' });
}

describe('frames that are not JSON-RPC requests', () => {
  it.each([
    ['not JSON', '{"jsonrpc":"2.0",', -32700, 'parse_error'],
    ['empty frame', '', -32700, 'parse_error'],
    [
      'a batch',
      JSON.stringify([{ jsonrpc: '2.0', id: 1, method: 'payment.list' }]),
      -32600,
      'invalid_request',
    ],
    ['an empty batch', '[]', -32600, 'invalid_request'],
    ['a number', '42', -32600, 'invalid_request'],
    ['a string', '"hello"', -32600, 'invalid_request'],
    ['null', 'null', -32600, 'invalid_request'],
    [
      'no id (a notification)',
      JSON.stringify({ jsonrpc: '2.0', method: 'payment.list' }),
      -32600,
      'invalid_request',
    ],
    [
      'an object id',
      JSON.stringify({ jsonrpc: '2.0', id: {}, method: 'payment.list' }),
      -32600,
      'invalid_request',
    ],
    ['deep nesting', `${'['.repeat(100_000)}${']'.repeat(100_000)}`, -32600, 'invalid_request'],
  ])('%s → %i %s, and the socket stays usable', async (_what, text, rpc, code) => {
    const res = await r.garbage(text);
    expect(res).toMatchObject({ jsonrpc: '2.0', id: null });
    expect(errorData(res)).toMatchObject({ code: rpc, data: { code, retryable: false } });
    expect(errorData(res).message.length).toBeGreaterThan(5);
    await stillUsable();
  });

  it('a binary frame → -32600', async () => {
    const res = await r.garbage(Buffer.from('{"jsonrpc":"2.0","id":1,"method":"payment.list"}'), true);
    expect(errorData(res)).toMatchObject({ code: -32600, data: { code: 'invalid_request' } });
    await stillUsable();
  });

  it('wrong jsonrpc version, a method that is not a string → -32600 with the id echoed', async () => {
    r.sendText(JSON.stringify({ jsonrpc: '1.0', id: 'v1', method: 'payment.list' }));
    expect(errorData(await r.response('v1'))).toMatchObject({ code: -32600, data: { path: 'jsonrpc' } });
    r.sendText(JSON.stringify({ jsonrpc: '2.0', id: 'v2', method: 7 }));
    expect(errorData(await r.response('v2'))).toMatchObject({ code: -32600, data: { path: 'method' } });
    await stillUsable();
  });

  it.each(['payment.nope', 'nope', '__proto__', 'constructor', 'toString', 'hasOwnProperty', ''])(
    'unknown method %j → -32601',
    async (method) => {
      const res = await r.call(method, {});
      expect(errorData(res)).toMatchObject({
        code: -32601,
        data: { code: 'method_not_found', path: 'method' },
      });
      await stillUsable();
    },
  );
});

describe('invalid params → -32602 with the path of the bad field', () => {
  const sale = { idempotencyKey: 'bad-1', orderId: 'O-1', amount: 100, currency: 'CNY' };
  it.each<[string, string, unknown, string]>([
    ['params as an array', 'payment.sale', [1, 2], 'params'],
    ['params as a string', 'payment.sale', 'x', 'params'],
    ['params null', 'payment.sale', null, 'params'],
    ['no params at all', 'payment.sale', undefined, 'params.idempotencyKey'],
    ['missing amount', 'payment.sale', { ...sale, amount: undefined }, 'params.amount'],
    ['amount as a string', 'payment.sale', { ...sale, amount: '100' }, 'params.amount'],
    ['fractional amount', 'payment.sale', { ...sale, amount: 100.5 }, 'params.amount'],
    ['negative amount', 'payment.sale', { ...sale, amount: -100 }, 'params.amount'],
    ['zero amount', 'payment.sale', { ...sale, amount: 0 }, 'params.amount'],
    ['13-digit amount', 'payment.sale', { ...sale, amount: 1_000_000_000_000 }, 'params.amount'],
    ['huge amount', 'payment.sale', { ...sale, amount: 1e300 }, 'params.amount'],
    ['amount null', 'payment.sale', { ...sale, amount: null }, 'params.amount'],
    ['amount boolean', 'payment.sale', { ...sale, amount: true }, 'params.amount'],
    ['orderId a number', 'payment.sale', { ...sale, orderId: 5 }, 'params.orderId'],
    ['empty idempotencyKey', 'payment.sale', { ...sale, idempotencyKey: '' }, 'params.idempotencyKey'],
    [
      'idempotencyKey too long',
      'payment.sale',
      { ...sale, idempotencyKey: 'k'.repeat(129) },
      'params.idempotencyKey',
    ],
    ['control characters', 'payment.sale', { ...sale, orderId: 'a\u0000b' }, 'params.orderId'],
    ['lower-case currency', 'payment.sale', { ...sale, currency: 'cny' }, 'params.currency'],
    ['unknown currency', 'payment.sale', { ...sale, currency: 'XYZ' }, 'params.currency'],
    ['another terminal currency', 'payment.sale', { ...sale, currency: '840' }, 'params.currency'],
    ['a misspelt field', 'payment.sale', { ...sale, ammount: 100 }, 'params.ammount'],
    [
      'refund amount fractional',
      'payment.refund',
      { paymentId: 'p', idempotencyKey: 'k', amount: 0.5 },
      'params.amount',
    ],
    ['capture without amount', 'payment.capture', { paymentId: 'p', idempotencyKey: 'k' }, 'params.amount'],
    ['get with nothing', 'payment.get', {}, 'params'],
    ['get with both ids', 'payment.get', { paymentId: 'a', idempotencyKey: 'b' }, 'params'],
    ['replay from -1', 'events.replay', { sinceSeq: -1 }, 'params.sinceSeq'],
    ['replay limit 0', 'events.replay', { sinceSeq: 0, limit: 0 }, 'params.limit'],
    [
      'cardPresent a string',
      'payment.void',
      { paymentId: 'p', idempotencyKey: 'k', cardPresent: 'yes' },
      'params.cardPresent',
    ],
    ['terminal id a number', 'terminal.status', { terminalId: 1 }, 'params.terminalId'],
    ['list with a field', 'terminal.list', { all: true }, 'params.all'],
  ])('%s', async (_what, method, params, path) => {
    const res = await r.call(method, params);
    expect(errorData(res)).toMatchObject({
      code: -32602,
      data: { code: 'invalid_params', retryable: false, path },
    });
    expect(errorData(res).message).toContain(path);
    await stillUsable();
  });

  it('nothing was charged by any of it', () => {
    expect(b.engine.recent(100).filter((o) => o.id !== saleId && o.kind === 'sale')).toEqual([]);
  });
});

describe('frame size', () => {
  it('a frame over 256 KiB closes that socket with 1009; the server and other sockets carry on', async () => {
    const victim = await b.raw();
    const big = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'session.hello',
      params: { token: 'x'.repeat(300 * 1024) },
    });
    victim.sendText(big);
    expect((await victim.closed).code).toBe(1009);
    await stillUsable();
    const pb = await b.connected();
    expect((await pb.payment.get({ paymentId: saleId })).state).toBe('completed');
  });

  it('a frame just under the limit is parsed (and refused on its merits)', async () => {
    const res = await r.call('payment.get', { paymentId: 'p'.repeat(250 * 1024) });
    expect(errorData(res)).toMatchObject({ code: -32602, data: { path: 'params.paymentId' } });
  });

  it('invalid UTF-8 in a text frame closes that socket (1007); the server carries on', async () => {
    const victim = await b.raw();
    victim.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect((await victim.closed).code).toBe(1007);
    await stillUsable();
  });
});

describe('random garbage', () => {
  it('1,000 random frames: every one answered with a JSON-RPC error, the socket stays usable', async () => {
    const seed = Number(process.env['API_FUZZ_SEED'] ?? Date.now() % 1_000_000);
    console.log(`api garbage seed ${seed} (API_FUZZ_SEED=${seed} replays)`);
    let x = seed || 1;
    const rnd = (): number => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) / 2 ** 32;
    };
    const pieces = [
      '{',
      '}',
      '[',
      ']',
      '"',
      ':',
      ',',
      'jsonrpc',
      '2.0',
      'id',
      'method',
      'params',
      'payment.sale',
      'amount',
      '-1',
      '1e999',
      'null',
      'true',
      '\\u0000',
      ' ',
      '1.5',
      '"payment.get"',
    ];
    for (let i = 0; i < 1000; i++) {
      let t = '';
      const n = 1 + Math.floor(rnd() * 30);
      for (let j = 0; j < n; j++) t += pieces[Math.floor(rnd() * pieces.length)];
      const id = `g${i}`;
      // Half the frames are well-formed requests with random params.
      if (rnd() < 0.5) t = `{"jsonrpc":"2.0","id":"${id}","method":"payment.sale","params":${t}}`;
      r.sendText(t);
      const res = await r.next();
      expect(res['error'] ?? res['result']).toBeDefined();
    }
    await stillUsable();
  });
});
