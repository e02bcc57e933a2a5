/**
 * Downloaded CAPK and AID sets go on to the card reader (docs/terminal-management.md): the active sets
 * at start-up and each new version as soon as it is stored. The driver remembers them and pushes again
 * whenever the reader connects holding another digest (a new or reset reader), so a chip card is never
 * read with stale keys once a download happened. What the reader did with each set is kept for health.
 */
import type { Logger } from 'pino';
import type { StoredParamSet, TerminalManager } from '../host/index.js';
import type { Journal } from '../journal/index.js';
import type { CardReader, ParamLoadResult, ReaderParamKind } from '../terminal/index.js';

export interface ReaderParamStatus {
  version: number;
  status: ParamLoadResult['status'];
  at: string;
  detail?: string;
}

export type ReaderParamsState = Partial<Record<ReaderParamKind, ReaderParamStatus>>;

export function wireReaderParameters(o: {
  reader: CardReader;
  terminalManager: TerminalManager;
  journal: Journal;
  logger: Logger;
  /** Longest a card read waits for a running download and push (default 15 s). */
  waitMs?: number;
}): { state: () => ReaderParamsState; ready: () => Promise<void> } {
  const state: ReaderParamsState = {};
  const load = o.reader.loadParameters?.bind(o.reader);
  if (!load) return { state: () => ({}), ready: () => Promise.resolve() };
  const inFlight = new Set<Promise<unknown>>();
  const log = o.logger.child({ component: 'reader-params' });
  const push = (set: StoredParamSet): void => {
    const kind = set.kind;
    const p = load({ kind, version: set.version, entries: set.entries.map((e) => Buffer.from(e.tlv, 'hex')) })
      .then((r) => record(set.version, r))
      .catch((e: unknown) => log.warn({ kind, err: (e as Error).message }, 'parameter push failed'))
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  const record = (version: number, r: ParamLoadResult): void => {
    state[r.kind] = {
      version,
      status: r.status,
      at: new Date().toISOString(),
      ...(r.status === 'refused' ? { detail: r.detail ?? r.readerStatus } : {}),
    };
    if (r.status === 'refused')
      log.warn({ kind: r.kind, version, detail: r.detail }, 'the reader refused the parameter set');
  };
  // Pushes done by the driver on its own (at reconnect) are reported too.
  (o.reader as unknown as { on?: (e: string, l: (r: ParamLoadResult) => void) => void }).on?.(
    'parameters',
    (r) => {
      const v = state[r.kind]?.version ?? 0;
      record(v, r);
    },
  );
  for (const kind of ['capk', 'aid'] as const) {
    const set = o.journal.activeParamSet(kind);
    if (set) push(set);
  }
  o.terminalManager.on('downloaded', push);
  return {
    state: () => ({ ...state }),
    /** A download that runs (the start-up one, say) and the pushes it leads to end first, bounded. */
    async ready() {
      const work = (async () => {
        await o.terminalManager.idle();
        while (inFlight.size) await Promise.allSettled([...inFlight]);
      })();
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, o.waitMs ?? 15_000);
        timer.unref();
      });
      await Promise.race([work, limit]);
      clearTimeout(timer);
    },
  };
}
