/** A queue of received APDUs that one exchange reads with a timeout. */
import type { Apdu } from './apdu.js';

export type InboxItem = Apdu | 'timeout' | 'closed';

export class Inbox {
  private items: Apdu[] = [];
  private waiter: ((item: InboxItem) => void) | undefined;
  private isClosed = false;

  push(a: Apdu): void {
    if (this.isClosed) return;
    if (this.waiter) this.waiter(a);
    else this.items.push(a);
  }

  /** Link gone: the pending and every later `next()` answer 'closed' until `reopen()`. */
  close(): void {
    this.isClosed = true;
    this.items = [];
    this.waiter?.('closed');
  }

  reopen(): void {
    this.isClosed = false;
    this.items = [];
  }

  clear(): void {
    this.items = [];
  }

  /** Takes every queued item (what arrived after the reader stopped reading). */
  drain(): Apdu[] {
    const out = this.items;
    this.items = [];
    return out;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  next(timeoutMs: number): Promise<InboxItem> {
    const first = this.items.shift();
    if (first) return Promise.resolve(first);
    if (this.isClosed) return Promise.resolve('closed');
    return new Promise((resolve) => {
      const timer = setTimeout(() => settle('timeout'), Math.max(0, timeoutMs));
      const settle = (item: InboxItem): void => {
        clearTimeout(timer);
        this.waiter = undefined;
        resolve(item);
      };
      this.waiter = settle;
    });
  }
}
