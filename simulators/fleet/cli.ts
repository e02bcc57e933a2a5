/** `posbridge-sim fleet` and `posbridge-sim laptop`. */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { badValue, parseCommandArgs } from '../../src/daemon/cli-args.js';
import { startFleet } from './index.js';

export { runLaptopCli, LAPTOP_USAGE } from './laptop.js';

export const FLEET_USAGE =
  'usage: posbridge-sim fleet [--laptops 20] [--home <dir>] [--hub-port 7590] [--control-port 0] [--rate <sales/min per laptop>] [--seed <n>]\n' +
  'A fleet hub (PGlite, or DATABASE_URL) with that many laptop daemons feeding it; dashboard at the hub URL\n' +
  '(user admin, password POSBRIDGE_HUB_ADMIN_PASSWORD or "posbridge-demo"). Control API: GET /laptops,\n' +
  'POST /laptops/<TID>/kill|start|cut|restore, GET /acquirer-file. See docs/fleet.md.\n';

export async function runFleetCli(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs({
    args: argv,
    options: {
      laptops: { type: 'string', default: '20' },
      home: { type: 'string' },
      'hub-port': { type: 'string', default: '7590' },
      'control-port': { type: 'string', default: '0' },
      rate: { type: 'string', default: '20' },
      seed: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(FLEET_USAGE);
    return 0;
  }
  const laptops = Number(values.laptops);
  if (!Number.isInteger(laptops) || laptops < 1 || laptops > 200)
    throw badValue(`--laptops must be 1 to 200, got ${JSON.stringify(values.laptops)}`);
  const seed = values.seed ? Number(values.seed) : Math.floor(Math.random() * 1e9);
  const home = values.home ?? process.env['POSBRIDGE_FLEET_HOME'] ?? join(homedir(), '.posbridge-fleet');
  const password = process.env['POSBRIDGE_HUB_ADMIN_PASSWORD'] ?? 'posbridge-demo';
  const fleet = await startFleet({
    laptops,
    home,
    hubPort: Number(values['hub-port']),
    controlPort: Number(values['control-port']),
    rate: Number(values.rate),
    seed,
    adminPassword: password,
    ...(process.env['DATABASE_URL'] ? { databaseUrl: process.env['DATABASE_URL'] } : {}),
  });
  process.stdout.write(
    `${JSON.stringify({ ready: true, hub: fleet.hub.port, control: fleet.controlPort, laptops, seed, home })}\n`,
  );
  process.stderr.write(
    `dashboard: ${fleet.hub.url}/ (admin / ${process.env['POSBRIDGE_HUB_ADMIN_PASSWORD'] ? '$POSBRIDGE_HUB_ADMIN_PASSWORD' : password})\n`,
  );
  await new Promise<void>((r) => {
    process.once('SIGINT', () => r());
    process.once('SIGTERM', () => r());
  });
  await fleet.stop();
  return 0;
}
