/**
 * The daemon as the routes, the API wiring and the compositions see it (its shape only: the composition
 * root, daemon.ts, builds it). Kept apart so that those modules and daemon.ts do not import each other.
 */
import type http from 'node:http';
import type { Logger } from 'pino';
import type { Engine, SettlementService } from '../engine/index.js';
import type { HostLink, TerminalManager } from '../host/index.js';
import type { Journal } from '../journal/index.js';
import type { IntegratedTerminal } from '../terminal/integrated.js';
import type { CardReader } from '../terminal/reader.js';
import type { DaemonConfig } from './config.js';
import type { Pairing } from './pairing.js';

/** An extra HTTP route a composition (the demo, the engine runner) adds to the daemon's server. */
export interface Route {
  method: string;
  /** Exact path, or a prefix when it ends with `*`. */
  path: string;
  handler: (req: http.IncomingMessage, res: http.ServerResponse, daemon: Daemon) => void | Promise<void>;
}

export interface Daemon {
  readonly config: DaemonConfig;
  readonly logger: Logger;
  readonly journal: Journal;
  readonly engine: Engine;
  readonly host: HostLink;
  /** CAPK and IC parameter downloads over the host link (docs/terminal-management.md). */
  readonly terminalManager: TerminalManager;
  readonly reader: CardReader;
  /** The integrated terminal (ZVT) that takes the payments, when one is configured. */
  readonly integrated: IntegratedTerminal | undefined;
  readonly server: http.Server;
  readonly token: string;
  /** Paired CRM pages: one-time codes and per-origin tokens (`posbridge pair`, `posbridge tokens`). */
  readonly pairing: Pairing;
  /** Batch close and reports (`settlement.run`, `settlement.report`). */
  readonly settlement: SettlementService;
  /** The bound port (after start). */
  port: number;
  /**
   * Listens, then starts the reader, the host link, store-and-forward and start-up recovery. When it
   * cannot listen (port in use) it closes everything it opened (journal and its lock included) and
   * rejects with the listen error: nothing is left running.
   */
  start(): Promise<{ port: number }>;
  /**
   * Start-up recovery's result once it has run (`examined`, `actions`); undefined when it failed or the
   * daemon stopped first. Resolves only after `start()`.
   */
  recovered(): Promise<RecoveryResult | undefined>;
  stop(): Promise<void>;
  health(): Record<string, unknown>;
  /** Starts the fleet hub link after an enrolment made while running (the demo); false when not enrolled. */
  connectHub(): boolean;
}

export interface RecoveryResult {
  examined: number;
  actions: Record<string, number>;
}
