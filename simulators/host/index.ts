/**
 * The acquirer host simulator: ISO 8583 over TCP (framing from the dialect), many terminals at once,
 * a ledger, fault rules and a loopback control API. `startHostSimulator(options)` runs it in-process;
 * `posbridge-sim host` (simulators/host/cli.ts) runs it as a process.
 *
 * The message contract is docs/acquirer-messages.md; QA usage is docs/host-simulator.md.
 */
import { randomFillSync } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { cardLogOptions, SensitiveBytes } from '../../src/card/index.js';
import { schemeKey, type SchemeKey } from '../../src/crypto/index.js';
import {
  dialectFraming,
  frame,
  frameLength,
  lengthHeaderWidth,
  Iso8583Error,
  loadDialect,
  unframe,
  type Dialect,
  type FieldInput,
  type FieldValue,
  type Framing,
  type Iso8583Message,
  type Unframed,
} from '../../src/iso8583/index.js';
import { describeTlv, tryParseTlv } from '../../src/emv/index.js';
import { loadCards } from '../shared/cards.js';
import { Authorizer, type ResponsePlan } from './authorizer.js';
import { FaultRules, type FaultRule, type FaultRuleInput } from './faults.js';
import { Ledger, writeFileAtomic } from './ledger.js';
import {
  checkParamSet,
  loadTerminalParams,
  TerminalParamServer,
  type TerminalParamSet,
} from './terminal-params.js';
import { startControlApi } from './control.js';

export { Ledger } from './ledger.js';
export type { LedgerTx, LedgerState, Settlement, SettlementTotals, Totals, TxType } from './ledger.js';
export { FaultRules, parseFaultRule, FAULT_ACTIONS, FaultError } from './faults.js';
export type { FaultRule, FaultRuleInput, FaultAction, FaultMatch } from './faults.js';
export { settlementField48, KSN_REPLAY_CODE, KsnGuard, ksnDevice } from './authorizer.js';
export type { DukptDeviceState } from './authorizer.js';
export { TerminalParamServer, loadTerminalParams, checkParamSet, capkTlv } from './terminal-params.js';
export type { TerminalParamSet, SimCapk, SimParamKind } from './terminal-params.js';

/** The test terminal master key every TID gets unless configured otherwise (double length, hex). */
export const DEFAULT_MASTER_KEY = '0123456789ABCDEFFEDCBA9876543210';

/** Test BDKs: ANSI X9.24-1:2009 Annex A (TDES) and the X9.24-3:2017 supplement (AES-128). Never production. */
export const DEFAULT_DUKPT_BDK = {
  tdes: '0123456789ABCDEFFEDCBA9876543210',
  aes: 'FEDCBA9876543210F1F1F1F1F1F1F1F1',
} as const;

import type { HostSimulator } from './handle.js';
export type { HostSimulator } from './handle.js';

export interface HostSimulatorOptions {
  /** Dialect name or a loaded dialect (default `cup-pos`). */
  dialect?: string | Dialect;
  /** Bind address of the ISO port (default 127.0.0.1). The control API always binds to 127.0.0.1. */
  host?: string;
  /** ISO 8583 port (default 0: any free port). */
  port?: number;
  /** Control API port (default 0); `null` for none. */
  controlPort?: number | null;
  /** Ledger JSON file; without one the ledger lives in memory only. */
  ledgerFile?: string;
  /** Where settlement files go (default: next to the ledger file, else `<tmpdir>/posbridge-host-sim`). */
  settlementDir?: string;
  /** Terminal master key (hex or bytes: 8, 16 or 24 bytes) for every TID (default `DEFAULT_MASTER_KEY`). */
  masterKey?: string | Uint8Array;
  /** Per-TID master keys (hex), overriding `masterKey`. */
  masterKeys?: Record<string, string>;
  /** Card table file (default `simulators/cards.json`). */
  cardsFile?: string;
  /** Fault rules active from the start. */
  faults?: FaultRuleInput[];
  /** Answer to a reversal of a transaction the host never saw (default '00'; '25' is the other school). */
  unknownReversalCode?: string;
  /** A pino logger (it should be built with `cardLogOptions()`); else one is made from the two below. */
  logger?: Logger;
  /** Level of the logger made here (default 'silent' in-process; the CLI uses 'info'). */
  logLevel?: string;
  /** Destination of the logger made here (default stderr). */
  logStream?: DestinationStream;
  /** DUKPT BDKs (hex, 32 digits: a double-length TDES key, an AES-128 key) the host derives PIN keys
   * from when a request carries a KSN; default the X9.24-1 test BDK (TDES) and the X9.24-3 test BDK
   * (AES). The CLI's --dukpt-bdk-tdes / --dukpt-bdk-aes. */
  dukptBdk?: { tdes?: string; aes?: string };
  /** Clock (tests). */
  now?: () => Date;
  /** Terminal-management set (CAPKs, AID parameters): a JSON file or the set (default terminal-params.json). */
  terminalParams?: string | TerminalParamSet;
  /** List entries per query answer (default 20; smaller makes the terminal ask again). */
  terminalParamsPageSize?: number;
}

/** A DUKPT BDK option: 32 hex digits (16 bytes), else an error naming `what`. */
export function dukptBdkBytes(hex: string, what: string): Buffer {
  if (!/^[0-9A-Fa-f]{32}$/.test(hex)) throw new Error(`${what} must be 32 hex digits (a 16-byte BDK)`);
  return Buffer.from(hex, 'hex');
}

function toKeyBytes(k: string | Uint8Array, what: string): Buffer {
  if (typeof k !== 'string') return Buffer.from(k);
  if (!/^([0-9A-Fa-f]{16}|[0-9A-Fa-f]{32}|[0-9A-Fa-f]{48})$/.test(k))
    throw new Error(`${what} must be 16, 32 or 48 hex digits`);
  return Buffer.from(k, 'hex');
}

export async function startHostSimulator(options: HostSimulatorOptions = {}): Promise<HostSimulator> {
  const dialect =
    typeof options.dialect === 'object' ? options.dialect : loadDialect(options.dialect ?? 'cup-pos');
  const framing: Framing = dialectFraming(dialect);
  if (framing.lengthHeader === 'none')
    throw new Error(`dialect ${dialect.name} has no length header; a TCP host needs one`);
  const maxFrame = framing.maxFrame ?? 65535;
  const width = lengthHeaderWidth(framing.lengthHeader);
  const cards = loadCards(options.cardsFile);
  const ledger = new Ledger(cards, options.ledgerFile);
  const faults = new FaultRules();
  for (const f of options.faults ?? []) faults.add(f);
  const now = options.now ?? (() => new Date());
  const settlementDir =
    options.settlementDir ??
    (options.ledgerFile ? dirname(options.ledgerFile) : join(tmpdir(), 'posbridge-host-sim'));
  const log: Logger =
    options.logger ??
    pino(
      {
        ...(cardLogOptions() as unknown as LoggerOptions),
        level: options.logLevel ?? 'silent',
        base: { name: 'host-sim' },
      },
      options.logStream ?? pino.destination({ fd: 2, sync: true }),
    );

  // The dialect's key scheme decides the master key's cipher (an SM4 master key is 16 bytes).
  const scheme = dialect.spec.exchanges?.signOn?.keyScheme ?? 'des';
  const defaultTmk = schemeKey(
    scheme,
    toKeyBytes(options.masterKey ?? DEFAULT_MASTER_KEY, 'masterKey'),
    'tmk',
  );
  const tmks = new Map<string, SchemeKey>();
  for (const [tid, hex] of Object.entries(options.masterKeys ?? {}))
    tmks.set(tid, schemeKey(scheme, toKeyBytes(hex, `masterKeys.${tid}`), 'tmk'));

  const writeSettlementFile = async (
    filter: { tid?: string; batch?: string } = {},
  ): Promise<{ path: string; csv: string }> => {
    const csv = ledger.settlementCsv(filter);
    const name = `settlement-${filter.tid ?? 'all'}-${filter.batch ?? 'all'}.csv`;
    const path = await writeFileAtomic(settlementDir, name, csv);
    log.info({ path, tid: filter.tid, batch: filter.batch }, 'settlement file written');
    return { path, csv };
  };

  const params = new TerminalParamServer(
    typeof options.terminalParams === 'object'
      ? checkParamSet(options.terminalParams)
      : loadTerminalParams(options.terminalParams),
    { ...(options.terminalParamsPageSize ? { pageSize: options.terminalParamsPageSize } : {}) },
  );
  const authorizer = new Authorizer({
    dialect,
    cards,
    ledger,
    masterKeyFor: (tid) => tmks.get(tid) ?? defaultTmk,
    now,
    unknownReversalCode: options.unknownReversalCode ?? '00',
    writeSettlementFile: async (tid, batch) => (await writeSettlementFile({ tid, batch })).path,
    warn: (obj, msg) => log.warn(obj, msg),
    dukptBdk: {
      tdes: dukptBdkBytes(options.dukptBdk?.tdes ?? DEFAULT_DUKPT_BDK.tdes, 'dukptBdk.tdes'),
      aes: dukptBdkBytes(options.dukptBdk?.aes ?? DEFAULT_DUKPT_BDK.aes, 'dukptBdk.aes'),
    },
    params,
  });

  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const renderTlv = (bytes: Buffer): string => {
    const parsed = tryParseTlv(bytes);
    return parsed.ok
      ? `\n${describeTlv(parsed.elements).replace(/^/gm, '        ')}`
      : `<${bytes.length} bytes, not TLV>`;
  };
  const describe = (m: Iso8583Message): string =>
    dialect.describe(m, { renderContent: { 'ber-tlv': renderTlv } });

  function respond(socket: Socket, plan: ResponsePlan, req: Unframed, rule: FaultRule | undefined): void {
    if (rule?.action === 'wrong_stan' && typeof plan.fields[11] === 'string') {
      const s = (Number(plan.fields[11]) % 999999) + 1;
      plan.fields[11] = String(s).padStart(6, '0');
    }
    let body: Buffer;
    try {
      body = packResponse(plan);
    } catch (err) {
      log.error({ err, mti: plan.mti, tid: plan.tid }, 'response could not be packed; not answered');
      return;
    }
    const header = req.header ? Buffer.from(req.header.raw) : undefined;
    if (header && header.length > 2)
      header[2] = (header[2]! & 0xf0) | (plan.signOnAgain ? 3 : (plan.headerNibble ?? params.headerNibble()));
    let out = frame(body, {
      ...framing,
      tpdu: req.tpdu?.raw ?? null,
      swapTpdu: true,
      header: header ?? null,
    });
    if (log.isLevelEnabled('info')) {
      const shown: Record<number, FieldValue> = { ...(plan.fields as Record<number, FieldValue>) };
      if (Buffer.isBuffer(shown[62]) && plan.mti === '0810')
        shown[62] = SensitiveBytes.from(shown[62], 'keys');
      log.info(
        {
          dir: 'out',
          mti: plan.mti,
          tid: plan.tid,
          stan: plan.fields[11],
          rc: plan.fields[39],
          fault: rule?.action,
        },
        describe({ mti: plan.mti, fields: shown }),
      );
    }
    const write = (bytes: Buffer, cb?: () => void): void => {
      if (!socket.destroyed && socket.writable) socket.write(bytes, cb);
    };
    switch (rule?.action) {
      case 'drop_response':
        log.warn(
          { tid: plan.tid, stan: plan.fields[11], fault: rule.id },
          'fault: response dropped (transaction committed)',
        );
        return;
      case 'close_before_response':
        log.warn(
          { tid: plan.tid, stan: plan.fields[11], fault: rule.id },
          'fault: connection closed before the response',
        );
        socket.destroy();
        return;
      case 'delay': {
        const t = setTimeout(() => {
          timers.delete(t);
          write(out);
        }, rule.delayMs ?? 0);
        timers.add(t);
        return;
      }
      case 'corrupt_mac':
        if (plan.mac) {
          out = Buffer.from(out);
          const last = out.length - 1;
          out[last] = out[last] === 0x30 ? 0x31 : 0x30; // a different hex character: the MAC no longer verifies
        }
        write(out);
        return;
      case 'duplicate_response':
        write(out);
        write(out);
        return;
      case 'garbage': {
        // A frame of the right length header whose content is random: the stream stays in sync.
        const g = Buffer.alloc(out.length);
        randomFillSync(g);
        out.copy(g, 0, 0, width); // keep the length header
        write(g);
        return;
      }
      case 'close_after_response':
        write(out, () => socket.end());
        return;
      default:
        write(out);
    }
  }

  function packResponse(plan: ResponsePlan): Buffer {
    const msg = { mti: plan.mti, fields: plan.fields as Record<number, FieldInput> };
    let body: Buffer;
    try {
      body = dialect.pack(msg, { mac: plan.mac });
    } catch (err) {
      if (
        !(err instanceof Iso8583Error) ||
        (err.code !== 'field_mandatory' && err.code !== 'field_forbidden')
      )
        throw err;
      log.warn(
        { mti: plan.mti, code: err.code, field: err.field },
        'response packed without the dialect rules',
      );
      body = dialect.pack(msg, { mac: plan.mac, rules: false });
    }
    if (plan.mac) {
      const mac = authorizer.responseMac(plan, dialect.macInput(body));
      if (mac) body = dialect.applyMac(body, mac);
    }
    return body;
  }

  function onFrame(socket: Socket, bytes: Buffer): void {
    let un: Unframed;
    let req: Iso8583Message;
    try {
      un = unframe(bytes, framing);
      req = dialect.unpack(un.body);
    } catch (err) {
      const e = err as Iso8583Error;
      log.warn(
        { code: e.code, field: e.field, offset: e.offset, bytes: bytes.length },
        'undecodable frame ignored',
      );
      return;
    }
    const f2 = req.fields[2];
    const f3 = req.fields[3];
    const f4 = req.fields[4];
    const rule = faults.forRequest({
      mti: req.mti,
      ...(typeof f3 === 'string' ? { processingCode: f3 } : {}),
      ...(f2 && typeof f2 === 'object' && 'lastFour' in f2 ? { panLast4: f2.lastFour } : {}),
      ...(typeof f4 === 'string' ? { amount: Number(f4) } : {}),
    });
    if (log.isLevelEnabled('info')) {
      log.info({ dir: 'in', mti: req.mti, tid: req.fields[41], stan: req.fields[11] }, describe(req));
    }
    const plan = authorizer.handle(req, un.body, rule?.action === 'reversal_96');
    if (!plan) return;
    const pending = plan.tasks.length ? Promise.all([...plan.tasks, ledger.persist()]) : ledger.persist();
    pending.then(
      () => respond(socket, plan, un, rule),
      (err: unknown) => log.error({ err }, 'ledger write failed; request not answered'),
    );
  }

  const server: Server = createServer((socket) => {
    const refused = faults.refuseConnection();
    if (refused) {
      log.warn({ fault: refused.id, remote: socket.remotePort }, 'fault: connection refused');
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.setNoDelay(true);
    log.info({ remote: socket.remotePort }, 'terminal connected');
    let buf: Buffer | undefined;
    socket.on('data', (chunk: Buffer) => {
      buf = buf && buf.length ? Buffer.concat([buf, chunk]) : chunk;
      while (buf.length >= 2) {
        const total = frameLength(buf, framing);
        if (total === undefined) break;
        if (total === width) {
          buf = buf.subarray(width); // zero-length keep-alive
          continue;
        }
        if (total - width > maxFrame) {
          log.warn({ declared: total - width, maxFrame }, 'frame above the maximum: connection closed');
          socket.destroy();
          return;
        }
        if (buf.length < total) break;
        const one = buf.subarray(0, total);
        buf = buf.subarray(total);
        onFrame(socket, one);
      }
    });
    socket.on('error', (err) => log.debug({ err }, 'terminal connection error'));
    socket.on('close', () => {
      sockets.delete(socket);
      log.info({ remote: socket.remotePort }, 'terminal disconnected');
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const isoPort = (server.address() as AddressInfo).port;

  const sim: HostSimulator = {
    isoPort,
    controlPort: undefined,
    ledger,
    faults,
    cards,
    dialect,
    params,
    get connections() {
      return sockets.size;
    },
    dukptDevices: () => authorizer.ksns.list(),
    reset() {
      ledger.reset();
      faults.clear();
      authorizer.ksns.clear();
      log.info('reset');
    },
    writeSettlementFile,
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
      await control?.close();
      await ledger.persist();
      log.info('host simulator stopped');
    },
  };

  const control =
    options.controlPort === null
      ? undefined
      : await startControlApi(options.controlPort ?? 0, {
          sim,
          log,
          authorizerSessions: () => ledger.snapshot.sessions,
        });
  (sim as { controlPort: number | undefined }).controlPort = control?.port;
  log.info({ iso: isoPort, control: control?.port, dialect: dialect.name }, 'host simulator ready');
  return sim;
}
