/**
 * The daemon's link to the fleet hub (docs/fleet.md). `posbridge hub-enrol --hub <url> --code <code>`
 * trades a one-time code for this daemon's credential and keeps it in `<stateDir>/hub.json` (0600, the
 * credential is revocable at the hub); while that file is there the daemon streams its journal's
 * events and a health snapshot to the hub.
 */
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  HubLink,
  type EnrolResult,
  type HubHealth,
  type HubLinkTimers,
  type TerminalInfo,
} from '../api/index.js';
import type { Daemon } from './daemon-types.js';
import { POSBRIDGE_VERSION } from './version.js';

export interface HubCredentialFile {
  url: string;
  daemonId: string;
  credential: string;
  store: string;
  enrolledAt: string;
}

export const hubCredentialPath = (stateDir: string): string => join(stateDir, 'hub.json');

export function readHubCredential(stateDir: string): HubCredentialFile | undefined {
  const path = hubCredentialPath(stateDir);
  if (!existsSync(path)) return undefined;
  const v = JSON.parse(readFileSync(path, 'utf8')) as Partial<HubCredentialFile>;
  if (typeof v.url !== 'string' || typeof v.credential !== 'string' || typeof v.daemonId !== 'string')
    throw new Error(`${path}: expected {url, daemonId, credential} (enrol again: posbridge hub-enrol)`);
  return v as HubCredentialFile;
}

/** Enrols with the hub and keeps the credential; answers what the hub said (never the credential). */
export async function enrolWithHub(o: {
  url: string;
  code: string;
  stateDir: string;
  terminalIds: string[];
  name?: string;
  fetch?: typeof fetch;
}): Promise<{ daemonId: string; store: string }> {
  const res = await (o.fetch ?? fetch)(new URL('/v1/enrol', o.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code: o.code, terminalIds: o.terminalIds, version: POSBRIDGE_VERSION, ...(o.name ? { name: o.name } : {}) }),
  });
  const body = (await res.json().catch(() => ({}))) as EnrolResult & { error?: { code: string; message: string } };
  if (!res.ok) throw new Error(`the hub refused the enrolment: ${body.error?.message ?? res.status}`);
  const file: HubCredentialFile = {
    url: o.url,
    daemonId: body.daemonId,
    credential: body.credential,
    store: body.store,
    enrolledAt: new Date().toISOString(),
  };
  const path = hubCredentialPath(o.stateDir);
  writeFileSync(`${path}.tmp`, JSON.stringify(file, null, 2), { mode: 0o600 });
  chmodSync(`${path}.tmp`, 0o600);
  renameSync(`${path}.tmp`, path);
  return { daemonId: body.daemonId, store: body.store };
}

/** The link for an enrolled daemon, or undefined when it is not enrolled. */
export function createHubLink(
  daemon: Pick<Daemon, 'config' | 'engine' | 'journal' | 'logger'>,
  terminals: () => TerminalInfo[] | Promise<TerminalInfo[]>,
  timers?: Partial<HubLinkTimers>,
): HubLink | undefined {
  const cred = readHubCredential(daemon.config.stateDir);
  if (!cred) return undefined;
  const startedAt = new Date().toISOString();
  const health = async (): Promise<Omit<HubHealth, 'at' | 'outboxDepth'>> => {
    const pending: Record<string, number> = {};
    for (const op of daemon.journal.openOperations()) pending[op.state] = (pending[op.state] ?? 0) + 1;
    const backlog: Record<string, number> = {};
    for (const s of daemon.journal.safDepth()) backlog[s.lane] = s.count;
    return {
      version: POSBRIDGE_VERSION,
      startedAt,
      terminals: await terminals(),
      pending,
      needsAttention: daemon.journal.needsAttentionCount(),
      backlog,
    };
  };
  return new HubLink({
    url: cred.url,
    credential: cred.credential,
    source: daemon.engine,
    health,
    logger: daemon.logger.child({ component: 'hub-link', daemonId: cred.daemonId }),
    ...timers,
  });
}

/** Points an enrolled daemon at the hub's current address (the demo's hub picks a new port each run). */
export function rewriteHubUrl(stateDir: string, url: string): void {
  const cred = readHubCredential(stateDir);
  if (!cred || cred.url === url) return;
  const path = hubCredentialPath(stateDir);
  writeFileSync(`${path}.tmp`, JSON.stringify({ ...cred, url }, null, 2), { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}
