/**
 * One ECR connection to the simulated terminal. While the ECR is master, each APDU it sends is a
 * command handed to `onCommand`. While a command runs the terminal is master: it sends its messages
 * and reads the ECR's 80 00 / 84 xx answers; an Abort 06 B0 from the ECR is answered 80 00 00 at once
 * and flagged for the running command to act on.
 */
import type { Logger } from 'pino';
import {
  Inbox,
  apduCode,
  encodeMessage,
  zvtMessages as M,
  type Apdu,
  type ZvtLink,
  type ZvtMessage,
  type ZvtTables,
} from '../../src/terminal/zvt/index.js';

export type EcrAnswer =
  { kind: 'ack' } | { kind: 'nack'; code: number } | { kind: 'timeout' } | { kind: 'closed' };

export class SessionClosed extends Error {
  constructor() {
    super('ECR connection closed');
  }
}

export class PtSession {
  readonly inbox = new Inbox();
  /** A command (flow) runs: the terminal is master. */
  running = false;
  abortRequested = false;
  private isClosed = false;

  constructor(
    readonly link: ZvtLink,
    private readonly tables: ZvtTables,
    private readonly ackTimeoutMs: number,
    private readonly onCommand: (session: PtSession, a: Apdu) => Promise<void>,
    private readonly log: Logger | undefined,
  ) {
    link.on('apdu', (a) => this.onApdu(a));
    link.on('close', () => {
      this.isClosed = true;
      this.inbox.close();
    });
  }

  get closed(): boolean {
    return this.isClosed || !this.link.isOpen;
  }

  private onApdu(a: Apdu): void {
    if (this.running) {
      if (apduCode(a) === '06 B0') {
        this.abortRequested = true;
        void this.send(M.ack());
        return;
      }
      this.inbox.push(a);
      return;
    }
    if (a.cls === 0x80 || a.cls === 0x84) return; // a stray answer while we are not master
    this.running = true;
    this.abortRequested = false;
    this.inbox.clear();
    this.onCommand(this, a)
      .catch((e: unknown) => {
        if (!(e instanceof SessionClosed))
          this.log?.warn({ err: (e as Error).message }, 'ZVT simulator command failed');
      })
      .finally(() => {
        this.running = false;
        // A command that arrived in the same chunk as the last answer of the previous one.
        for (const queued of this.inbox.drain()) this.onApdu(queued);
      });
  }

  /** Sends without waiting for an answer (80 00 00 to a command, 84 xx refusals). */
  async send(m: ZvtMessage): Promise<void> {
    if (this.closed) throw new SessionClosed();
    try {
      await this.link.send(encodeMessage(m, this.tables));
    } catch {
      throw new SessionClosed();
    }
  }

  /** Sends a terminal message and waits (T3-like) for the ECR's 80 00 / 84 xx. */
  async request(m: ZvtMessage): Promise<EcrAnswer> {
    await this.send(m);
    for (;;) {
      const item = await this.inbox.next(this.ackTimeoutMs);
      if (item === 'timeout') return { kind: 'timeout' };
      if (item === 'closed') return { kind: 'closed' };
      if (item.cls === 0x80 || (item.cls === 0x84 && item.ins === 0x00)) return { kind: 'ack' };
      if (item.cls === 0x84) return { kind: 'nack', code: item.ins };
      this.log?.warn(
        { got: apduCode(item) },
        'ZVT simulator: ECR sent a command while the terminal is master',
      );
    }
  }

  /** Waits `ms`; throws `SessionClosed` if the ECR went away meanwhile. */
  async sleep(ms: number): Promise<void> {
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
    if (this.closed) throw new SessionClosed();
  }

  async close(): Promise<void> {
    this.isClosed = true;
    this.inbox.close();
    await this.link.close();
  }
}
