/**
 * SM4 working keys held by the reader (the reader protocol's `key_scheme`, docs/reader-protocol.md):
 * the driver loads field 62 of an SM4 sign-on into the reader simulator, which unwraps it under its
 * master key as an SM4 key, reports SM4 check values, computes UnionPay SM4 MACs and encrypts 16-byte
 * SM4 PIN blocks. A reader without SM4 is refused at connect with a reason that says so.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { gmSupport } from '../../src/crypto/index.js';
import { parseTlv } from '../../src/emv/index.js';
import type { StartTransaction } from '../../src/terminal/index.js';
import { leakedSecrets, makeRig, until, type Rig } from './rig.js';

const SALE: StartTransaction = {
  amount: 880_000n,
  currency: '156',
  type: 'sale',
  timeoutSeconds: 30,
  interfaces: ['chip', 'contactless', 'magstripe'],
  pinAllowed: true,
};

let rig: Rig | undefined;
afterEach(async () => {
  const r = rig;
  rig = undefined;
  if (!r) return;
  await r.close();
  expect(leakedSecrets(r)).toEqual([]);
});

describe.skipIf(!gmSupport().sm4)('a reader holding SM4 working keys', () => {
  it.each(['tcp', 'ble'] as const)(
    'over %s: loads SM4 keys, MACs with the UnionPay SM4 MAC, and returns a 16-byte SM4 PIN block',
    async (kind) => {
      rig = await makeRig(kind, 'posbridge', { keyScheme: 'sm4' });
      const info = await rig.driver.info();
      expect(info.keySchemes).toEqual(['des', 'sm4']);
      // Check values are SM4 ones (the software module's, computed with SM4 from the same bytes).
      const kcv = await rig.soft.keyCheckValues();
      expect(info.keyCheckValues).toEqual({ tmk: kcv.tmk, pik: kcv.pik, mak: kcv.mak, tdk: kcv.tdk });

      const data = Buffer.from('0200702406C020C09A111962123456780000000100000000008800', 'ascii');
      const mac = await rig.driver.securityModule.mac(data);
      expect(mac.length).toBe(8);
      expect(mac).toEqual(await rig.soft.mac(data));
      expect(await rig.driver.securityModule.verifyMac(data, mac)).toBe(true);
      const bad = Buffer.from(data);
      bad[3] = bad[3]! ^ 1;
      expect(await rig.driver.securityModule.verifyMac(bad, mac)).toBe(false);

      const res = await rig.driver.startTransaction('sm4-sale-1', SALE);
      expect(JSON.stringify(res)).toContain('card_read');
      if (res.status !== 'card_read') return;
      const block = res.card.pinBlock!.reveal();
      rig.secrets.add(block.toString('hex'));
      expect(block.length).toBe(16);
      expect(await rig.soft.verifyPinBlock(block, res.card.pan, '123456')).toBe(true);
      expect(await rig.soft.verifyPinBlock(block, res.card.pan, '654321')).toBe(false);
      // No SM4 form of the track encryption is known: the track is left out, never sent clear.
      expect(res.card.track2).toBeUndefined();
      expect(parseTlv(res.card.iccData!).elements.length).toBeGreaterThan(10);
      await rig.driver.cancel('sm4-sale-1');
    },
  );

  it('a reader that restarted gets its SM4 keys again on reconnect', async () => {
    rig = await makeRig('tcp', 'posbridge', { keyScheme: 'sm4' });
    const r = rig;
    r.sim.simulator.clearKeys();
    r.states.length = 0;
    r.sim.dropLink();
    await until(() => r.states.includes('disconnected'), 3000, 'disconnected');
    await until(() => r.driver.state === 'idle', 4000, 'idle again');
    const data = Buffer.from('after reconnect');
    expect(await r.driver.securityModule.mac(data)).toEqual(await r.soft.mac(data));
  });

  it('refuses a reader whose master key has no SM4 form, naming the scheme', async () => {
    rig = await makeRig('tcp', 'posbridge', { keyScheme: 'sm4', simKeySchemes: ['des'], ready: false });
    const refused = await new Promise<Error>((resolve) => rig!.driver.once('refused', resolve));
    expect(refused.message).toMatch(/cannot hold SM4 keys/);
    expect((refused as { reason?: string }).reason).toBe('key_scheme');
    expect(rig.driver.state).toBe('disconnected');
  });
});
