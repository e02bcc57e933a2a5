/** An in-memory byte pipe between two `StreamTransport`s, with a hook to tamper with bytes in flight. */
import { Duplex, PassThrough } from 'node:stream';
import { StreamTransport } from '../../src/terminal/index.js';

export type Tamper = (chunk: Buffer, direction: 'a2b' | 'b2a') => Buffer | null;

export interface Pipe {
  a: StreamTransport;
  b: StreamTransport;
  /** Writes raw bytes towards `a` or `b` (as if they came from the other end). */
  inject(to: 'a' | 'b', bytes: Buffer): void;
  tamper: Tamper | undefined;
  /** Sizes of every chunk written, per direction. */
  writes: { a2b: number[]; b2a: number[] };
}

export async function makePipe(mtu = 65536): Promise<Pipe> {
  const toA = new PassThrough();
  const toB = new PassThrough();
  const writes = { a2b: [] as number[], b2a: [] as number[] };
  const pipe: Pipe = {
    a: undefined as unknown as StreamTransport,
    b: undefined as unknown as StreamTransport,
    tamper: undefined,
    writes,
    inject(to, bytes) {
      (to === 'a' ? toA : toB).write(bytes);
    },
  };
  const side = (readable: PassThrough, target: PassThrough, dir: 'a2b' | 'b2a'): Duplex =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        writes[dir].push(chunk.length);
        const out = pipe.tamper ? pipe.tamper(chunk, dir) : chunk;
        if (out && out.length) target.write(out);
        cb();
      },
    }).on('newListener', function (this: Duplex, ev: string) {
      if (ev === 'data' && readable.listenerCount('data') === 0)
        readable.on('data', (c: Buffer) => this.push(c));
    });
  pipe.a = new StreamTransport(side(toA, toB, 'a2b'), { mtu, description: 'pipe:a' });
  pipe.b = new StreamTransport(side(toB, toA, 'b2a'), { mtu, description: 'pipe:b' });
  await pipe.a.open();
  await pipe.b.open();
  return pipe;
}
