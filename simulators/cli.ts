#!/usr/bin/env node
import { describeFailure, exitAfterFlush } from '../src/daemon/failures.js';
import { runSimCli } from './sim-cli.js';

const argv = process.argv.slice(2);
runSimCli(argv).then(
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
