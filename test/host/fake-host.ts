import net from 'node:net';
import { SoftwareSecurityModule, generateWorkingKeys, wrapWorkingKeys } from '../../src/crypto/index.js';
import { dialectFraming, frame, loadDialect, unframe, type Iso8583Message } from '../../src/iso8583/index.js';
import { FrameReader } from '../../src/host/index.js';

export const TMK = Buffer.from('0123456789ABCDEFFEDCBA9876543210', 'hex');

export type Behaviour =
  'answer' | 'silent' | 'one_byte_at_a_time' | 'bad_mac' | 'wrong_stan' | 'close' | 'sign_on_flag' | 'no_mac';

/**
 * A tiny acquirer for the host-link tests (the full simulator lives in simulators/host): signs on with
 * real wrapped keys, MACs its answers, and misbehaves on request.
 */
export class FakeHost {
  readonly dialect = loadDialect('cup-pos');
  readonly framing = dialectFraming(this.dialect);
  hsm = new SoftwareSecurityModule(TMK, { macAlgorithm: 'cup-ecb' });
  readonly received: Iso8583Message[] = [];
  readonly sockets = new Set<net.Socket>();
  behaviour: Behaviour = 'answer';
  /** Field 62 of the last sign-on answer (tests check it never reaches a log). */
  lastField62: Buffer | undefined;
  /** Answers to send together in one write (coalescing), flushed when this many are queued. */
  coalesce = 1;
  delayMs = 0;
  signOns = 0;
  private queue: Buffer[] = [];
  private server: net.Server | undefined;
  port = 0;

  async start(port = 0): Promise<number> {
    const server = net.createServer((s) => this.onConnection(s));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.port = (server.address() as net.AddressInfo).port;
    return this.port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Sends raw bytes to every connected client. */
  push(bytes: Buffer): void {
    for (const s of this.sockets) s.write(bytes);
  }

  private onConnection(s: net.Socket): void {
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
    s.on('error', () => undefined);
    const reader = new FrameReader(this.framing, 8192);
    s.on('data', (chunk) => {
      for (const f of reader.push(chunk)) void this.onFrame(s, f);
    });
  }

  private async onFrame(s: net.Socket, bytes: Buffer): Promise<void> {
    const d = this.dialect;
    const { body } = unframe(bytes, this.framing);
    const req = d.unpack(body);
    this.received.push(req);
    if (req.mti === '0800') return this.signOn(s, req);
    if (this.behaviour === 'silent') return;
    if (this.behaviour === 'close') {
      s.destroy();
      return;
    }
    const fields: Record<number, unknown> = { ...req.fields, 39: '00', 37: '000000000001', 38: '123456' };
    delete fields[64];
    delete fields[2];
    delete fields[52];
    delete fields[55];
    delete fields[14];
    delete fields[22];
    delete fields[26];
    delete fields[53];
    if (this.behaviour === 'wrong_stan') fields[11] = '999999';
    const mti = String(Number(req.mti) + 10).padStart(4, '0');
    let out: Buffer;
    if (req.mti === '0820') {
      out = d.pack({ mti, fields: fields as never }, { rules: false });
    } else if (this.behaviour === 'no_mac') {
      out = d.pack({ mti, fields: fields as never }, { rules: false });
    } else {
      out = d.pack({ mti, fields: fields as never }, { rules: false, mac: true });
      const mac =
        this.behaviour === 'bad_mac'
          ? Buffer.from('0000000000000000', 'hex')
          : await this.hsm.mac(d.macInput(out));
      out = d.applyMac(out, mac);
    }
    const header = this.behaviour === 'sign_on_flag' ? '603103000000' : undefined;
    this.send(s, frame(out, { ...this.framing, ...(header ? { header } : {}) }));
  }

  private signOn(s: net.Socket, req: Iso8583Message): void {
    this.signOns++;
    const keys = generateWorkingKeys('double');
    const f62 = wrapWorkingKeys(TMK, keys, 'double');
    this.lastField62 = Buffer.from(f62);
    void this.hsm.loadWorkingKeys(f62, 'double').then(() => {
      const out = this.dialect.pack({
        mti: '0810',
        fields: {
          11: req.fields[11] as string,
          39: '00',
          41: req.fields[41] as string,
          42: req.fields[42] as string,
          60: '00000123003',
          62: f62,
        },
      });
      this.send(s, frame(out, this.framing));
    });
  }

  private send(s: net.Socket, bytes: Buffer): void {
    const go = (): void => {
      if (this.behaviour === 'one_byte_at_a_time') {
        for (const b of bytes) s.write(Buffer.from([b]));
        return;
      }
      this.queue.push(bytes);
      if (this.queue.length >= this.coalesce) {
        s.write(Buffer.concat(this.queue));
        this.queue = [];
      }
    };
    if (this.delayMs) setTimeout(go, this.delayMs);
    else go();
  }
}
