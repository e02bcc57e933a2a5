/**
 * `posbridge-sim <command>` (cli.ts is the executable). The conventions are posbridge's
 * (src/daemon/cli-args.ts): `<command> --help` prints that command's usage (exit 0) and runs nothing;
 * a usage error is one line on stderr (the usage follows on stdout for an unknown option or a missing
 * argument), exit 2.
 */
import { asUsageError, closest, printUsageError, wantsHelp } from '../src/daemon/cli-args.js';
import { DEMO_USAGE, runDemoCli } from './demo.js';
import { ENGINE_USAGE, runEngineCli } from './engine-runner.js';
import { FLEET_USAGE, LAPTOP_USAGE, runFleetCli, runLaptopCli } from './fleet/cli.js';
import { HOST_HELP, runHostCli } from './host/cli.js';
import { QR_HELP, runQrCli } from './qr/cli.js';
import { READER_HELP, runReaderCli } from './reader/cli.js';
import { runSampleCli, SAMPLE_USAGE } from './sample.js';
import { runScenarioCli, USAGE as SCENARIO_USAGE } from './scenario.js';
import { runZvtCli, ZVT_HELP } from './zvt/cli.js';

export const SIM_HELP = `posbridge-sim: simulators for QA

Usage:
  posbridge-sim demo     The daemon with host and reader simulators and the demo CRM page (what npm start runs).
                         State directory: --home, else POSBRIDGE_HOME, else ~/.posbridge-demo (posbridge-sim demo --help).
  posbridge-sim run <scenario.json ...>   Run QA scenarios (simulators/scenarios/*.json); pass/fail per expectation.
  posbridge-sim sample [--hex]   A sample cup-pos chip sale frame, described (card data masked); --hex prints the
                         frame for posbridge decode "$(posbridge-sim sample --hex)".
  posbridge-sim host     The acquirer host simulator (posbridge-sim host --help; docs/host-simulator.md).
  posbridge-sim reader   The card reader simulator (posbridge-sim reader --help; docs/reader-protocol.md).
  posbridge-sim zvt      The ZVT terminal simulator, TCP and/or serial (posbridge-sim zvt --help; docs/zvt.md).
  posbridge-sim qr       The Alipay and WeChat Pay gateway simulators (posbridge-sim qr --help; docs/qr.md).
  posbridge-sim fleet    A fleet hub with --laptops N real daemons feeding it; kill, cut and restore them (docs/fleet.md).
  posbridge-sim laptop   One laptop of the fleet (a daemon, its reader simulator, steady sales), started by fleet.
  posbridge-sim engine   The engine as its own process with a control API (tests kill it; see simulators/engine-runner.ts).
  posbridge-sim <command> --help   Help for one command.

Exit codes: as posbridge (posbridge --help): 0 ok, 1 a problem, 2 usage, 4 configuration, 5 state directory, 6 port.
`;

interface SimCommand {
  usage: string;
  run(argv: string[]): number | Promise<number>;
}

/** Every `posbridge-sim` command with its usage. */
export const SIM_COMMANDS: Record<string, SimCommand> = {
  demo: { usage: DEMO_USAGE, run: runDemoCli },
  run: { usage: SCENARIO_USAGE, run: runScenarioCli },
  sample: { usage: SAMPLE_USAGE, run: runSampleCli },
  host: { usage: HOST_HELP, run: runHostCli },
  reader: { usage: READER_HELP, run: runReaderCli },
  zvt: { usage: ZVT_HELP, run: runZvtCli },
  qr: { usage: QR_HELP, run: runQrCli },
  fleet: { usage: FLEET_USAGE, run: runFleetCli },
  laptop: { usage: LAPTOP_USAGE, run: runLaptopCli },
  engine: { usage: ENGINE_USAGE, run: runEngineCli },
};

/** Runs one `posbridge-sim` command; resolves with its exit code (usage errors printed). */
export async function runSimCli(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    const asked = command === 'help' && rest[0] !== undefined ? SIM_COMMANDS[rest[0]] : undefined;
    process.stdout.write(asked ? asked.usage : SIM_HELP);
    if (command !== undefined) return 0;
    process.stderr.write('posbridge-sim: give a command: posbridge-sim --help lists them\n');
    return 2;
  }
  const c = SIM_COMMANDS[command];
  if (!c) {
    const near = closest(command, Object.keys(SIM_COMMANDS));
    process.stderr.write(
      `posbridge-sim: unknown command ${JSON.stringify(command)}${near ? ` (did you mean ${near}?)` : ''}: posbridge-sim --help lists them\n`,
    );
    process.stdout.write(SIM_HELP);
    return 2;
  }
  if (wantsHelp(rest)) {
    process.stdout.write(c.usage);
    return 0;
  }
  try {
    return await c.run(rest);
  } catch (e) {
    const u = asUsageError(e);
    if (!u) throw e;
    return printUsageError(`posbridge-sim ${command}`, u, c.usage.replace(/\n$/, ''));
  }
}
