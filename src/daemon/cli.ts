#!/usr/bin/env node
import { runCli } from './commands.js';
import { describeFailure, exitAfterFlush } from './failures.js';

// Every command ends with an explicit exit once its output is flushed: a fatal error prints ONE line
// (cause and fix) and exits with its code (failures.ts) instead of leaving a process that serves nothing.
runCli(process.argv.slice(2)).then(
  (code) => exitAfterFlush(code),
  (e: unknown) => {
    const f = describeFailure(e);
    exitAfterFlush(f.exitCode, `posbridge: ${f.message}`);
  },
);
