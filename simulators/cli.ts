#!/usr/bin/env node
import { decodeHex } from '../src/daemon/decode-command.js';
import { describeFailure, exitAfterFlush } from '../src/daemon/failures.js';
import { sampleSaleFrame } from './sample.js';
import { runHostCli } from './host/cli.js';
import { runReaderCli } from './reader/cli.js';
import { runEngineCli } from './engine-runner.js';
import { runDemoCli } from './demo.js';
import { runScenarioCli } from './scenario.js';
import { runZvtCli } from './zvt/cli.js';
import { runQrCli } from './qr/cli.js';

const HELP = `posbridge-sim: simulators for QA

Usage:
  posbridge-sim demo     The daemon with host and reader simulators and the demo CRM page (what npm start runs).
                         State directory: --home, else POSBRIDGE_HOME, else ~/.posbridge-demo (posbridge-sim demo --help).
  posbridge-sim run <scenario.json ...>   Run QA scenarios (simulators/scenarios/*.json); pass/fail per expectation.
  posbridge-sim sample   Build a sample cup-pos chip sale frame, decode it and describe it (card data masked).
  posbridge-sim host     The acquirer host simulator (posbridge-sim host --help; docs/host-simulator.md).
  posbridge-sim reader   The card reader simulator (posbridge-sim reader --help; docs/reader-protocol.md).
  posbridge-sim zvt      The ZVT terminal simulator, TCP and/or serial (posbridge-sim zvt --help; docs/zvt.md).
  posbridge-sim qr       The Alipay and WeChat Pay gateway simulators (posbridge-sim qr --help; docs/qr.md).
  posbridge-sim engine   The engine as its own process with a control API (tests kill it; see simulators/engine-runner.ts).
  posbridge-sim --help   This text.

`;

function main(argv: string[]): number | Promise<number> {
  const [command] = argv;
  switch (command) {
    case 'host':
      return runHostCli(argv.slice(1));
    case 'reader':
      return runReaderCli(argv.slice(1));
    case 'zvt':
      return runZvtCli(argv.slice(1));
    case 'qr':
      return runQrCli(argv.slice(1));
    case 'engine':
      return runEngineCli(argv.slice(1));
    case 'demo':
      return runDemoCli(argv.slice(1));
    case 'run':
      return runScenarioCli(argv.slice(1));
    case 'sample': {
      // The frame carries the (test) PAN in BCD, so only its length and the masked description are printed.
      const hex = sampleSaleFrame().toString('hex').toUpperCase();
      process.stdout.write(`cup-pos sample chip sale frame: ${hex.length / 2} bytes\n\n`);
      const result = decodeHex(hex, { dialect: 'cup-pos' });
      process.stdout.write(`${result.text}\n`);
      return result.ok ? 0 : 1;
    }
    case undefined:
    case '--help':
    case '-h':
      process.stdout.write(HELP);
      return command ? 0 : 2;
    default:
      process.stderr.write(`unknown command ${command}\n${HELP}`);
      return 2;
  }
}

const argv = process.argv.slice(2);
const result = main(argv);
if (typeof result === 'number') process.exitCode = result;
else
  result.then(
    (code) => {
      // The demo exits explicitly once stopped: nothing it no longer needs may keep the process alive.
      if (argv[0] === 'demo') exitAfterFlush(code);
      else process.exitCode = code;
    },
    (err: unknown) => {
      // One line naming the cause and the fix, the exit code of its class (docs/operations.md), and an
      // exit: whatever was started has been closed, and nothing may keep a failed process alive.
      const f = describeFailure(err);
      exitAfterFlush(f.exitCode, `posbridge-sim${argv[0] ? ` ${argv[0]}` : ''}: ${f.message}`);
    },
  );
