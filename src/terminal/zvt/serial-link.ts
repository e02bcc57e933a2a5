/**
 * ZVT over a serial line (spec16 §3): every APDU goes in a DLE STX … DLE ETX CRC frame; the receiver
 * answers ACK (06) or NAK (15) at once, before it looks at the content. T1: at most 200 ms between two
 * bytes of a frame, else the receiver NAKs. T2: the sender waits at most 5 s for ACK/NAK, else it
 * repeats. After a NAK, T1 or T2 the sender repeats the frame at most twice, then reports an error.
 */
import { decodeApdu } from './apdu.js';
import { ZvtError } from './errors.js';
import { ACK, NAK, FrameReader, encodeFrame } from './frame.js';
import { BaseZvtLink } from './transport.js';
import type { Transport } from '../transport.js';

export interface SerialLinkTimers {
  /** Inter-byte timeout within a frame (default 200 ms). */
  t1Ms: number;
  /** Frame → ACK/NAK timeout (default 5000 ms). */
  t2Ms: number;
  /** Repeats after a NAK or T2 (default 2). */
  retries: number;
}

export const DEFAULT_SERIAL_TIMERS: SerialLinkTimers = { t1Ms: 200, t2Ms: 5000, retries: 2 };

type AckResult = 'ack' | 'nak' | 'timeout' | 'closed';

export class SerialZvtLink extends BaseZvtLink {
  readonly kind = 'serial' as const;
  readonly timers: SerialLinkTimers;
  /** Fault injection (simulator): NAK the next N valid frames received. */
  nakNext = 0;
  /** Fault injection (simulator): send the first transmission of the next N frames with a wrong CRC. */
  corruptNext = 0;
  private readonly reader = new FrameReader();
  private t1: NodeJS.Timeout | undefined;
  private waiter: ((r: AckResult) => void) | undefined;
  private queue: Promise<void> = Promise.resolve();

  constructor(transport: Transport, timers: Partial<SerialLinkTimers> = {}) {
    super(transport);
    this.timers = { ...DEFAULT_SERIAL_TIMERS, ...timers };
  }

  send(apdu: Buffer): Promise<void> {
    const run = this.queue.then(() => this.sendFrame(apdu));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async sendFrame(apdu: Buffer): Promise<void> {
    for (let attempt = 0; attempt <= this.timers.retries; attempt++) {
      if (!this.isOpen) throw new ZvtError('link_down', `${this.description} is not open`);
      let corruptCrc = false;
      if (attempt === 0 && this.corruptNext > 0) {
        this.corruptNext--;
        corruptCrc = true;
      }
      if (attempt > 0) this.stats.retransmissions++;
      const answer = this.awaitAck();
      await this.write(encodeFrame(apdu, { corruptCrc }));
      const r = await answer;
      if (r === 'ack') {
        this.stats.sent++;
        return;
      }
      if (r === 'closed') throw new ZvtError('link_down', 'link closed while waiting for ACK');
      if (r === 'nak') this.stats.naksReceived++;
    }
    throw new ZvtError(
      'not_acknowledged',
      `frame not acknowledged after ${this.timers.retries + 1} transmissions`,
    );
  }

  private awaitAck(): Promise<AckResult> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => settle('timeout'), this.timers.t2Ms);
      const settle = (r: AckResult): void => {
        clearTimeout(timer);
        if (this.waiter === settle) this.waiter = undefined;
        resolve(r);
      };
      this.waiter = settle;
    });
  }

  protected received(chunk: Buffer): void {
    clearTimeout(this.t1);
    for (const e of this.reader.push(chunk)) {
      switch (e.type) {
        case 'ack':
        case 'nak':
          this.waiter?.(e.type);
          break;
        case 'noise':
          this.stats.noise += e.bytes;
          break;
        case 'bad':
          this.reply(NAK);
          break;
        case 'frame': {
          let apdu;
          try {
            apdu = decodeApdu(e.apdu);
          } catch {
            this.reply(NAK);
            break;
          }
          if (this.nakNext > 0) {
            this.nakNext--;
            this.reply(NAK);
            break;
          }
          this.reply(ACK);
          this.deliver(apdu);
          break;
        }
      }
    }
    if (this.reader.midFrame) {
      this.t1 = setTimeout(() => {
        this.reader.reset();
        this.reply(NAK);
      }, this.timers.t1Ms);
    }
  }

  private reply(byte: number): void {
    if (byte === NAK) this.stats.naksSent++;
    this.write(Buffer.from([byte])).catch(() => undefined);
  }

  protected reset(): void {
    this.reader.reset();
  }

  protected stopped(): void {
    clearTimeout(this.t1);
    this.reader.reset();
    this.waiter?.('closed');
  }
}
