/**
 * The daemon → hub stream (docs/fleet.md). HTTP+JSON, one batch in flight per daemon:
 *
 *   POST /v1/enrol    {code, name?, terminalIds, version}          → {daemonId, credential, store}
 *   GET  /v1/cursor?journal=<journalId>   (Bearer credential)      → {ackedSeq}
 *   POST /v1/ingest   (Bearer credential) IngestBatch              → IngestAck
 *
 * The daemon's journal is the outbox: events leave in journal order (`seq`), each identified by
 * `<journalId>:<seq>`, and the hub stores each id once (at-least-once delivery, idempotent ingestion).
 * The hub answers with the highest seq it holds with none missing below it; the daemon resumes from
 * there after a disconnect, a crash or a day offline. A batch that starts beyond the hub's cursor (a gap)
 * is refused with 409 and the cursor, and the daemon rewinds to it. Back-pressure: a hub that is busy answers 503
 * with `retry-after` (seconds), and the daemon sends nothing until then.
 *
 * Only what the CRM may see crosses: the API's masked payment views and events. No PAN, no track, no
 * sealed data, no keys (test/hub greps the hub database for the test cards' PANs).
 */
import type { Payment, PaymentEvent, TerminalInfo } from './client/types.js';

export const HUB_PROTOCOL_VERSION = 1;
/** Events per batch the hub accepts (a larger batch is refused with 413). */
export const HUB_MAX_BATCH = 1000;

/** A payment as the hub keeps it: the CRM's view plus what reconciliation matches on. */
export interface HubPayment extends Payment {
  terminalId: string;
  /** The terminal's local date of the transaction (YYYY-MM-DD), when the host message carried one. */
  localDate: string | null;
}

export interface HubEvent {
  seq: number;
  at: string;
  event: PaymentEvent;
}

export interface HubHealth {
  at: string;
  version: string;
  startedAt: string;
  terminals: TerminalInfo[];
  /** Payments not final, by state (e.g. unknown, reversing). */
  pending: Record<string, number>;
  /** Payments that need a person (needs_attention). */
  needsAttention: number;
  /** Store-and-forward queues not yet drained, by lane (reversal, advice). */
  backlog: Record<string, number>;
  /** Journal events not yet acknowledged by the hub when this snapshot was taken. */
  outboxDepth: number;
}

export interface IngestBatch {
  protocol: number;
  journalId: string;
  /** The batch covers the journal's seqs after `after` up to and including `upTo` (events may skip). */
  after: number;
  upTo: number;
  events: HubEvent[];
  /** The current view of every payment the batch's events touch (latest wins at the hub). */
  payments: HubPayment[];
  health?: HubHealth;
}

export interface IngestAck {
  /** The highest seq the hub holds for this journal with none missing below it. */
  ackedSeq: number;
  /** Events of this batch that were already there (a resend). */
  duplicates: number;
}

export interface EnrolRequest {
  code: string;
  name?: string;
  terminalIds: string[];
  version: string;
}

export interface EnrolResult {
  daemonId: string;
  /** Sent as `authorization: Bearer <credential>`; shown once, stored by the hub only as a hash. */
  credential: string;
  store: string;
}

export interface HubErrorBody {
  error: { code: string; message: string; path?: string };
}
