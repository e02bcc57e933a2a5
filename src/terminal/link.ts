/**
 * The link layer over a transport: framing per profile, check bytes, sequence numbers, ACK/NAK with
 * retransmission (stop-and-wait: one unacknowledged frame per direction), duplicate suppression,
 * MTU chunking of writes, reassembly with a timeout, and resynchronisation after garbage. The same
 * class serves both ends: the driver (`role: 'host'`) and the reader simulator (`role: 'reader'`).
 *
 * Sequence numbers (stx variant): each end numbers its data frames 1, 2, ... 255, 1, 2 ..., starting
 * anywhere (a random value unless `initialSeq` is given) and going on across `reset()`, so that
 * consecutive frames from one end never share a number, reconnects included. A frame with the same
 * number as the previous accepted one is a retransmission whose ACK got lost: ACKed again, not
 * delivered again. `reset()` forgets the previous number, so a new session's first frame is taken.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { ReaderError } from './errors.js';
import { FrameCodec, type Frame, type FrameParser, type ParseEvent } from './framing.js';
import type { ReaderProfile } from './profile.js';
import type { Transport } from './transport.js';

export interface LinkOptions {
  profile: ReaderProfile;
  role: 'host' | 'reader';
  /** Sequence number of the first frame (1-255; default random): a reconnecting driver continues its count. */
  initialSeq?: number;
  /** Overrides of the profile's link timers (tests run them short). */
  ackMs?: number;
  retransmissions?: number;
  reassemblyMs?: number;
  logger?: Logger;
}

export interface LinkStats {
  framesSent: number;
  framesReceived: number;
  retransmissions: number;
  naksSent: number;
  naksReceived: number;
  badFrames: number;
  garbageBytes: number;
  duplicates: number;
  reassemblyTimeouts: number;
}

interface Outgoing {
  frame: Frame;
  bytes: Buffer;
  attempts: number;
  timer: NodeJS.Timeout | undefined;
  resolve: () => void;
  reject: (e: Error) => void;
}

/** Hook for simulators: change the bytes of a transmission (corrupt it) before they are written. */
export type OutgoingFilter = (bytes: Buffer, info: { frame: Frame; attempt: number }) => Buffer;

export class Link extends EventEmitter {
  readonly codec: FrameCodec;
  readonly stats: LinkStats = {
    framesSent: 0,
    framesReceived: 0,
    retransmissions: 0,
    naksSent: 0,
    naksReceived: 0,
    badFrames: 0,
    garbageBytes: 0,
    duplicates: 0,
    reassemblyTimeouts: 0,
  };
  /** Milliseconds between the chunks of one frame (a slow link, for simulators). */
  chunkDelayMs = 0;
  outgoingFilter: OutgoingFilter | undefined;

  private readonly ack: boolean;
  private readonly ackMs: number;
  private readonly retransmissions: number;
  private readonly reassemblyMs: number;
  private readonly parser: FrameParser;
  private readonly log: Logger | undefined;
  private readonly role: 'host' | 'reader';
  private txSeq: number;
  private lastRxSeq: number | undefined;
  private outstanding: Outgoing | undefined;
  private readonly queue: Outgoing[] = [];
  private writeChain: Promise<void> = Promise.resolve();
  private reassemblyTimer: NodeJS.Timeout | undefined;
  private attached = false;
  private readonly onData = (chunk: Buffer): void => this.receive(chunk);

  constructor(
    private readonly transport: Transport,
    options: LinkOptions,
  ) {
    super();
    const p = options.profile;
    this.role = options.role;
    this.codec = new FrameCodec(p.framing);
    this.ack = p.framing.ack;
    this.ackMs = options.ackMs ?? p.link.ackMs;
    this.retransmissions = options.retransmissions ?? p.link.retransmissions;
    this.reassemblyMs = options.reassemblyMs ?? p.link.reassemblyMs;
    // The host reads the reader's frames (with a status byte) and vice versa.
    this.parser = this.codec.parser(options.role === 'host');
    this.log = options.logger;
    const first = options.initialSeq ?? 1 + Math.floor(Math.random() * 255);
    this.txSeq = Number.isInteger(first) && first >= 1 && first <= 255 ? first : 1;
  }

  /** The sequence number the next frame will carry. */
  get nextSeqNumber(): number {
    return this.txSeq;
  }

  /** Starts reading from the transport. */
  attach(): void {
    if (this.attached) return;
    this.attached = true;
    this.transport.on('data', this.onData);
  }

  detach(): void {
    if (!this.attached) return;
    this.attached = false;
    this.transport.off('data', this.onData);
  }

  /** Bytes held for an incomplete frame. */
  get pendingBytes(): number {
    return this.parser.pending;
  }

  /**
   * Sends one frame. With ACK/NAK it resolves when the peer acknowledged it and rejects (reason
   * `retransmissions_exhausted`, after which the link is unusable until `reset()`) when it never did;
   * without, it resolves once the bytes were written.
   */
  send(cmd: number, payload: Buffer, status?: number): Promise<void> {
    if (this.role === 'reader' && status === undefined) status = 0;
    const frame: Frame = { seq: this.ack ? this.nextSeq() : -1, cmd, payload };
    if (this.role === 'reader') frame.status = status;
    let bytes: Buffer;
    try {
      bytes = this.codec.encode(frame);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    return new Promise<void>((resolve, reject) => {
      const out: Outgoing = { frame, bytes, attempts: 0, timer: undefined, resolve, reject };
      if (!this.ack) {
        this.stats.framesSent++;
        this.write(this.filtered(out), true).then(resolve, reject);
        return;
      }
      this.queue.push(out);
      this.pump();
    });
  }

  /**
   * A new session: unacknowledged and queued frames are rejected (`link_down`), partial input is
   * dropped, and the peer's previous sequence number is forgotten (ours keeps counting).
   */
  reset(reason = 'link reset'): void {
    const err = new ReaderError('reader_disconnected', reason, { reason: 'link_down' });
    const out = this.outstanding;
    this.outstanding = undefined;
    if (out) {
      clearTimeout(out.timer);
      out.reject(err);
    }
    for (const q of this.queue.splice(0)) q.reject(err);
    clearTimeout(this.reassemblyTimer);
    this.reassemblyTimer = undefined;
    this.parser.reset();
    this.lastRxSeq = undefined;
  }

  /** Detaches and rejects everything pending. */
  close(): void {
    this.reset('link closed');
    this.detach();
    this.removeAllListeners('message');
  }

  // ------------------------------------------------------------------ sending

  private nextSeq(): number {
    const seq = this.txSeq;
    this.txSeq = this.txSeq >= 255 ? 1 : this.txSeq + 1;
    return seq;
  }

  private pump(): void {
    if (this.outstanding || this.queue.length === 0) return;
    const out = this.queue.shift()!;
    this.outstanding = out;
    this.stats.framesSent++;
    this.transmit(out);
  }

  private filtered(out: Outgoing): Buffer {
    out.attempts++;
    const f = this.outgoingFilter;
    return f ? f(out.bytes, { frame: out.frame, attempt: out.attempts }) : out.bytes;
  }

  private transmit(out: Outgoing): void {
    const bytes = this.filtered(out);
    this.write(bytes, true).then(
      () => {
        if (this.outstanding !== out) return;
        clearTimeout(out.timer);
        out.timer = setTimeout(() => this.retransmit(out, 'ack timeout'), this.ackMs);
      },
      (e: Error) => {
        if (this.outstanding !== out) return;
        this.outstanding = undefined;
        out.reject(e);
        this.pump();
      },
    );
  }

  private retransmit(out: Outgoing, why: string): void {
    if (this.outstanding !== out) return;
    clearTimeout(out.timer);
    out.timer = undefined;
    if (out.attempts > this.retransmissions) {
      this.outstanding = undefined;
      const err = new ReaderError(
        'reader_disconnected',
        `no ACK after ${out.attempts} transmissions (${why})`,
        { reason: 'retransmissions_exhausted', offset: out.frame.seq },
      );
      this.log?.warn(
        { seq: out.frame.seq, cmd: hex(out.frame.cmd), attempts: out.attempts },
        'link: frame not acknowledged',
      );
      out.reject(err);
      this.emit('failed', err);
      return;
    }
    this.stats.retransmissions++;
    this.log?.debug({ seq: out.frame.seq, cmd: hex(out.frame.cmd), why }, 'link: retransmit');
    this.transmit(out);
  }

  /** Writes `bytes` in MTU-sized chunks, never interleaved with another frame's chunks. */
  private write(bytes: Buffer, _data: boolean): Promise<void> {
    const run = async (): Promise<void> => {
      const mtu = Math.max(1, this.transport.mtu);
      if (bytes.length <= mtu) {
        await this.transport.write(bytes);
        return;
      }
      for (let off = 0; off < bytes.length; off += mtu) {
        if (off > 0 && this.chunkDelayMs > 0) await delay(this.chunkDelayMs);
        await this.transport.write(bytes.subarray(off, Math.min(bytes.length, off + mtu)));
      }
    };
    const p = this.writeChain.then(run);
    this.writeChain = p.catch(() => undefined);
    return p;
  }

  private control(bytes: Buffer): void {
    this.write(bytes, false).catch(() => undefined);
  }

  // ------------------------------------------------------------------ receiving

  private receive(chunk: Buffer): void {
    const before = this.parser.garbage;
    const events = this.parser.push(chunk);
    this.stats.garbageBytes += this.parser.garbage - before;
    this.armReassembly();
    this.handle(events);
  }

  /** Inter-chunk timer: an incomplete frame with no new byte for `reassemblyMs` is dropped. */
  private armReassembly(): void {
    clearTimeout(this.reassemblyTimer);
    this.reassemblyTimer = undefined;
    if (this.parser.pending === 0) return;
    this.reassemblyTimer = setTimeout(() => {
      this.reassemblyTimer = undefined;
      this.stats.reassemblyTimeouts++;
      this.log?.debug({ pending: this.parser.pending }, 'link: incomplete frame dropped');
      const before = this.parser.garbage;
      const events = this.parser.expire();
      this.stats.garbageBytes += this.parser.garbage - before;
      this.handle(events);
    }, this.reassemblyMs);
  }

  private handle(events: ParseEvent[]): void {
    for (const e of events) {
      switch (e.type) {
        case 'frame':
          this.onFrame(e.frame);
          break;
        case 'ack': {
          const out = this.outstanding;
          if (out && out.frame.seq === e.seq) {
            clearTimeout(out.timer);
            this.outstanding = undefined;
            out.resolve();
            this.pump();
          }
          break;
        }
        case 'nak': {
          this.stats.naksReceived++;
          const out = this.outstanding;
          // The NAK names the frame as the peer read it; whatever it says, ours is what it missed.
          if (out && out.timer) this.retransmit(out, 'NAK');
          break;
        }
        case 'bad':
          this.stats.badFrames++;
          if (this.ack && e.seq !== undefined) {
            this.stats.naksSent++;
            this.control(this.codec.encodeNak(e.seq));
          }
          break;
      }
    }
  }

  private onFrame(frame: Frame): void {
    if (this.ack) {
      this.control(this.codec.encodeAck(frame.seq));
      if (this.lastRxSeq === frame.seq) {
        this.stats.duplicates++;
        return;
      }
      this.lastRxSeq = frame.seq;
    }
    this.stats.framesReceived++;
    this.emit('message', frame);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function hex(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, '0');
}
