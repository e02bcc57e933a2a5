/**
 * A DUKPT reader: a profile with `pinKeyScheme: "dukpt-tdes"` makes the reader simulator encrypt each PIN
 * under the transaction key from its IPEK, the counter advancing per PIN; the driver passes the block
 * through unchanged and the host side (BDK + KSN) reads it. The KSN goes out in the card result's
 * `ksn` tag (DF5C in posbridge.json).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { computeDukptMac, dukptCounter, verifyDukptPinBlock } from '../../src/crypto/index.js';
import { loadReaderProfile, readerProfilesDir, type StartTransaction } from '../../src/terminal/index.js';
import { DEFAULT_DUKPT_BDK } from '../../simulators/host/index.js';
import { leakedSecrets, makeRig, type Rig } from '../terminal/rig.js';

const SALE: StartTransaction = {
  amount: 8_800n,
  currency: '156',
  type: 'sale',
  timeoutSeconds: 30,
  interfaces: ['chip', 'contactless', 'magstripe'],
  pinAllowed: true,
};

const dir = mkdtempSync(join(tmpdir(), 'pb-dukpt-profile-'));
const profilePath = join(dir, 'posbridge-dukpt.json');
// A profile given by path resolves `extends` next to itself: a full copy of posbridge.json instead.
const base = JSON.parse(readFileSync(join(readerProfilesDir(), 'posbridge.json'), 'utf8')) as object;
writeFileSync(profilePath, JSON.stringify({ ...base, name: 'posbridge-dukpt', pinKeyScheme: 'dukpt-tdes' }));

let rig: Rig | undefined;
afterEach(async () => {
  const r = rig;
  rig = undefined;
  if (r) {
    await r.close();
    expect(leakedSecrets(r)).toEqual([]);
  }
});

describe('a DUKPT reader (profile pinKeyScheme)', () => {
  it('the profile says which scheme; the shipped ones are session readers; a bad value names the path', () => {
    expect(loadReaderProfile('posbridge').pinKeyScheme).toBe('session');
    expect(loadReaderProfile('mpos-lenpfx').pinKeyScheme).toBe('session');
    expect(loadReaderProfile(profilePath).pinKeyScheme).toBe('dukpt-tdes');
    expect(loadReaderProfile(profilePath).tags.ksn).toBe('DF5C');
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ...base, name: 'bad', pinKeyScheme: 'dukpt' }));
    expect(() => loadReaderProfile(bad)).toThrow(/pinKeyScheme/);
  });

  it('each PIN is under the next transaction key; the host reads it from BDK + KSN', async () => {
    rig = await makeRig('tcp', profilePath);
    const r = rig;
    const pad = r.sim.simulator.pinPad!;
    expect(pad.scheme).toBe('dukpt-tdes');
    const bdk = Buffer.from(DEFAULT_DUKPT_BDK.tdes, 'hex');
    for (let i = 1; i <= 2; i++) {
      const res = await r.driver.startTransaction(`dukpt-${i}`, SALE);
      if (res.status !== 'card_read') throw new Error(res.status);
      const block = res.card.pinBlock!;
      r.secrets.add(block.reveal().toString('hex'));
      expect(dukptCounter(pad.ksn)).toBe(i);
      expect(verifyDukptPinBlock(bdk, pad.ksn, block, res.card.pan, '123456')).toBe(true);
      // Not the session PIK: the rig's software copy of the working keys does not read this PIN.
      const underSession = await r.soft.verifyPinBlock(block, res.card.pan, '123456').catch(() => false);
      expect(underSession).toBe(false);
      await r.driver.completeTransaction(`dukpt-${i}`, { approved: false, responseCode: '05' });
    }
  });

  it('MACs with the transaction keys of the KSN it gave: request MAC out, response MAC checked, another KSN refused', async () => {
    rig = await makeRig('tcp', profilePath);
    const r = rig;
    const sm = r.driver.securityModule;
    const bdk = Buffer.from(DEFAULT_DUKPT_BDK.tdes, 'hex');
    const data = Buffer.from('0200 message from the MTI to field 63');
    const read = async (ref: string) => {
      const res = await r.driver.startTransaction(ref, SALE);
      if (res.status !== 'card_read') throw new Error(res.status);
      r.secrets.add(res.card.pinBlock!.reveal().toString('hex'));
      return res.card.ksn!;
    };
    const ksn = await read('dukpt-mac-1');
    const mac = await sm.mac(data, { ksn });
    expect(mac.toString('hex')).toBe(computeDukptMac({ bdk }, ksn, data, { macLength: 8 }).toString('hex'));
    // The session MAC of the same bytes (working keys from sign-on) is another value.
    expect(mac.equals(await sm.mac(data))).toBe(false);
    const answer = computeDukptMac({ bdk }, ksn, data, { direction: 'response', macLength: 8 });
    expect(await sm.verifyMac(data, answer, { ksn })).toBe(true);
    expect(await sm.verifyMac(data, mac, { ksn }), 'the request MAC is not the response MAC').toBe(false);
    await r.driver.completeTransaction('dukpt-mac-1', { approved: false, responseCode: '05' });

    const next = await read('dukpt-mac-2');
    expect(dukptCounter(next)).toBe(dukptCounter(ksn) + 1);
    // The reader keeps no key of an earlier transaction.
    await expect(sm.mac(data, { ksn })).rejects.toMatchObject({ code: 'reader_refused' });
    await r.driver.completeTransaction('dukpt-mac-2', { approved: false, responseCode: '05' });
  });
});

process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
