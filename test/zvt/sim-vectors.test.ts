/**
 * The bytes both ends produce equal the golden vectors: the client's commands, the simulator's
 * messages, and whole exchanges on the wire (TCP: bare APDUs; serial: frames with CRC).
 */
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame, encodeMessage, FrameReader, zvtMessages as M } from '../../src/terminal/zvt/index.js';
import { startZvtSimulator } from '../../simulators/zvt/index.js';
import {
  abortMessage,
  completion,
  failureStatus,
  intermediate,
  statusEnquiryCompletion,
} from '../../simulators/zvt/pt-messages.js';
import { printLineMessages } from '../../simulators/zvt/receipts.js';

const file = JSON.parse(readFileSync(new URL('../vectors/zvt.json', import.meta.url), 'utf8')) as {
  vectors: { id: string; hex: string | string[] }[];
};
const vec = (id: string): string => {
  const v = file.vectors.find((x) => x.id === id);
  if (!v) throw new Error(`no vector ${id}`);
  return Array.isArray(v.hex) ? v.hex.join('') : v.hex;
};
const seq = (id: string): string[] => file.vectors.find((x) => x.id === id)!.hex as string[];
const H = (b: Buffer): string => b.toString('hex').toUpperCase();

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('client commands equal the vectors', () => {
  it.each([
    [
      'ecr-serial-registration-123456',
      () => M.registration({ password: '123456', configByte: 0xba, currency: '978' }),
    ],
    ['ecr-serial-authorisation-doubled-dle', () => M.authorisation({ amount: 11_000, currency: '978' })],
    ['ecr-serial-diagnosis', () => M.diagnosis()],
    ['ecr-serial-status-enquiry', () => M.statusEnquiry({ password: '123456' })],
    ['ecr-serial-status-enquiry-sb04', () => M.statusEnquiry({ password: '123456', serviceByte: 0x04 })],
    ['ecr-serial-ack-8000', () => M.ack()],
    ['ecr-serial-nack-849c', () => M.nack(0x9c)],
  ] as const)('%s (serial frame)', (id, build) => {
    expect(H(encodeFrame(encodeMessage(build())))).toBe(vec(id));
  });

  it.each([
    ['portalum-authorisation-10eur', () => M.authorisation({ amount: 1000 })],
    [
      'bo-memo-registration-08',
      () => M.registration({ password: '123456', configByte: 0x08, currency: '978' }),
    ],
    ['portalum-nack-849c', () => M.nack(0x9c)],
    ['portalum-ack-8000', () => M.ack()],
  ] as const)('%s (APDU)', (id, build) => {
    expect(H(encodeMessage(build()))).toBe(vec(id));
  });
});

describe('simulator messages equal the vectors', () => {
  it.each([
    ['bo-status-info-abort-6c', () => failureStatus(0x6c, '29001006')],
    ['bo-abort-6c', () => abortMessage(0x6c)],
    ['portalum-abort-64', () => abortMessage(0x64)],
    ['portalum-abort-05', () => abortMessage(0x05)],
    ['portalum-completion-empty', () => completion()],
    ['bo-intermediate-status-0e', () => intermediate(0x0e)],
    ['portalum-nack-8483', () => M.nack(0x83)],
    [
      'ecr-print-line-kassenschnitt',
      () => printLineMessages({ copy: 'admin', lines: ['x', '         Kassenschnitt'] })[1]!,
    ],
  ] as const)('%s', (id, build) => {
    expect(H(encodeMessage(build()))).toBe(vec(id));
  });

  it('ecr-serial-completion-swversion: the Status-Enquiry completion, framed', () => {
    const m = statusEnquiryCompletion({
      swVersion: '2.14.15',
      terminalStatus: 0,
      terminalId: '00000000',
      model: '',
      withTlv: false,
    });
    expect(H(encodeFrame(encodeMessage(m)))).toBe(vec('ecr-serial-completion-swversion'));
  });
});

async function tcpPair(handler: (server: net.Socket) => Promise<() => Promise<void>>): Promise<net.Socket> {
  const server = net.createServer((s) => {
    void handler(s).then((close) => cleanups.push(close));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  const c = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise((r) => c.once('connect', r));
  cleanups.push(() => void c.destroy());
  return c;
}

function collect(sock: net.Socket): { bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  sock.on('data', (d: Buffer) => chunks.push(d));
  return { bytes: () => Buffer.concat(chunks) };
}

async function waitFor(pred: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('the simulator on the wire', () => {
  it('spec-seq-registration over TCP: the terminal answers with exactly the spec bytes', async () => {
    const sim = await startZvtSimulator({
      tcp: { port: 0 },
      control: false,
      password: '000000',
      terminalId: '65000028',
    });
    cleanups.push(() => sim.close());
    const c = net.connect(sim.port!, '127.0.0.1');
    cleanups.push(() => void c.destroy());
    await new Promise((r) => c.once('connect', r));
    const got = collect(c);
    const [reg, ack, completionHex] = seq('spec-seq-registration');
    c.write(Buffer.from(reg!, 'hex'));
    const expected = ack! + completionHex!;
    await waitFor(() => got.bytes().length >= expected.length / 2);
    expect(H(got.bytes())).toBe(expected);
    c.write(Buffer.from('800000', 'hex'));
    await waitFor(
      () =>
        sim.simulator.registered &&
        !(sim.simulator as unknown as { session: { running: boolean } }).session.running,
    );
  });

  it('bo-memo-registration-08 → bo-registration-completion over TCP', async () => {
    const sim = await startZvtSimulator({ tcp: { port: 0 }, control: false, terminalId: '29001006' });
    cleanups.push(() => sim.close());
    const c = net.connect(sim.port!, '127.0.0.1');
    cleanups.push(() => void c.destroy());
    await new Promise((r) => c.once('connect', r));
    const got = collect(c);
    c.write(Buffer.from(vec('bo-memo-registration-08'), 'hex'));
    const expected = '800000' + vec('bo-registration-completion');
    await waitFor(() => got.bytes().length >= expected.length / 2);
    expect(H(got.bytes())).toBe(expected);
  });

  it('serial: Status-Enquiry frame in, ACK + framed 80 00 00 + the captured completion frame out', async () => {
    const c = await tcpPair(async (line) => {
      const sim = await startZvtSimulator({ stream: line, control: false, swVersion: '2.14.15' });
      return () => sim.close();
    });
    const reader = new FrameReader();
    const events: string[] = [];
    c.on('data', (d: Buffer) => {
      for (const e of reader.push(d)) {
        if (e.type === 'frame') {
          events.push(H(encodeFrame(e.apdu)));
          c.write(Buffer.from([0x06]));
        } else events.push(e.type);
      }
    });
    await new Promise((r) => setTimeout(r, 50));
    c.write(Buffer.from(vec('ecr-serial-status-enquiry'), 'hex'));
    await waitFor(() => events.length >= 3);
    expect(events).toEqual(['ack', vec('ecr-serial-ack-8000'), vec('ecr-serial-completion-swversion')]);
  });
});
