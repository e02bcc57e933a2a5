/**
 * MACs per second on a 200-byte message with prepared working keys (as the security module holds
 * them), next to the one-shot form that prepares the key on every call, plus sealing ops/s.
 */
import { randomBytes } from 'node:crypto';
import {
  cupEcbMac,
  DesKey,
  generateWorkingKeys,
  Sealer,
  SoftwareSecurityModule,
  wrapWorkingKeys,
  x919Mac,
  x99Mac,
} from '../src/crypto/index.js';
import { measure, printRates, type Rate } from './measure.js';

export async function run(): Promise<void> {
  const msg = randomBytes(200);
  const mak8 = randomBytes(8);
  const mak16 = randomBytes(16);
  const k8 = DesKey.from(mak8);
  const k16 = DesKey.from(mak16);

  // Module path: what the host layer calls (async; measured as a sync loop over the resolved work).
  const tmk = randomBytes(16);
  const module = new SoftwareSecurityModule(tmk, { macAlgorithm: 'cup-ecb' });
  await module.loadWorkingKeys(wrapWorkingKeys(tmk, generateWorkingKeys('double'), 'double'), 'double');
  const moduleRate = await measureAsync('SecurityModule.mac cup-ecb, 16-byte MAK', () => module.mac(msg));

  const sealer = Sealer.fromKeys([[1, randomBytes(32)]], 1);
  const pan = Buffer.from('6217973910000725090', 'latin1');
  const aad = Buffer.from('payment-0001');
  const sealed = sealer.seal(pan, aad);

  const rates: Rate[] = [
    measure('cup-ecb MAC, single-DES MAK (prepared key)', () => cupEcbMac(k8, msg)),
    measure('cup-ecb MAC, double-length MAK (prepared key)', () => cupEcbMac(k16, msg)),
    measure('X9.19 retail MAC (prepared key)', () => x919Mac(k16, msg)),
    measure('X9.9 MAC, single DES (prepared key)', () => x99Mac(k8, msg)),
    measure('cup-ecb MAC, double-length MAK (raw key per call)', () => cupEcbMac(mak16, msg)),
    measure('X9.19 retail MAC (raw key per call)', () => x919Mac(mak16, msg)),
    moduleRate,
    measure('seal 19-byte PAN (AES-256-GCM, aad)', () => sealer.seal(pan, aad)),
    measure('open 19-byte PAN (AES-256-GCM, aad)', () => sealer.open(sealed, aad)),
  ];
  console.log('  message: 200 bytes');
  printRates(rates);
}

async function measureAsync(label: string, fn: () => Promise<unknown>, ms = 1000): Promise<Rate> {
  const warmEnd = performance.now() + 300;
  while (performance.now() < warmEnd) await fn();
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 200; i++) await fn();
    ops += 200;
    now = performance.now();
  }
  return { label, opsPerSec: (ops * 1000) / (now - start) };
}
