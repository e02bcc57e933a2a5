import type { FrameHeader, Iso8583Message } from '../iso8583/index.js';

/** What one attempt was: enough for the journal and for matching late answers. */
export interface Attempt {
  mti: string;
  stan: string;
  terminalId: string;
  /** Response MTI + match fields: the key an answer must carry. */
  key: string;
  /** When the bytes were handed to the socket (undefined if they never were). */
  sentAt?: Date;
}

/**
 * How a request ended. Exactly one of these per request.
 * - `answered`: a response matched (its MAC, if any, verified).
 * - `mac_error`: a response matched but its MAC did not verify: the answer cannot be trusted.
 * - `unknown`: the bytes may have reached the host and no usable answer came (timeout, connection lost,
 *   write error). Never `failed`: the host may hold the transaction.
 * - `not_sent`: the bytes never left (link down, a request with the same key in flight, encoding or
 *   journal failure). Safe to treat as not happened.
 */
export type HostOutcome =
  | {
      status: 'answered';
      attempt: Attempt;
      response: Iso8583Message;
      header?: FrameHeader;
      latencyMs: number;
    }
  | { status: 'mac_error'; attempt: Attempt; response: Iso8583Message; latencyMs: number }
  | { status: 'unknown'; attempt: Attempt; reason: 'timeout' | 'connection_lost' | 'write_error' }
  | {
      status: 'not_sent';
      attempt: Attempt;
      reason: 'link_down' | 'duplicate_in_flight' | 'encode_error' | 'mac_unavailable' | 'before_send_failed';
      error?: { code: string; message: string };
    };

export type LinkState = 'connecting' | 'ready' | 'down' | 'closed';

export interface LinkStateEvent {
  state: LinkState;
  at: Date;
  reason?: string;
}

/** A response that matched no request in flight: late (its request timed out) or unmatched. */
export interface StrayResponse {
  kind: 'late' | 'unmatched';
  response: Iso8583Message;
  /** For a late answer, the attempt it answers. */
  attempt?: Attempt;
  receivedAt: Date;
}
