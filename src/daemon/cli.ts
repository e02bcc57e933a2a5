#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { decodeHex, dialectNames } from './decode-command.js';

const HELP = `posbridge: local POS terminal bridge

Usage:
  posbridge decode <hex> [--dialect cup-pos] [--length-header none|2-byte-binary|2-byte-bcd|4-byte-ascii]
                         [--no-tpdu] [--header <hex>|--no-header]
      Decode an ISO 8583 frame and describe it, card data masked.
  posbridge dialects     List the ISO 8583 dialects in protocols/iso8583.
  posbridge --help       This text.

Exit codes: 0 success, 1 the input was rejected (the reason is printed), 2 usage error.
`;

function main(argv: string[]): number {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return command ? 0 : 2;
  }
  switch (command) {
    case 'dialects':
      process.stdout.write(`${dialectNames().join('\n')}\n`);
      return 0;
    case 'decode': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          dialect: { type: 'string', default: 'cup-pos' },
          'length-header': { type: 'string' },
          'no-tpdu': { type: 'boolean', default: false },
          header: { type: 'string' },
          'no-header': { type: 'boolean', default: false },
          help: { type: 'boolean', default: false },
        },
      });
      if (values.help || positionals.length !== 1) {
        process.stdout.write(HELP);
        return values.help ? 0 : 2;
      }
      const lh = values['length-header'];
      if (lh !== undefined && !['none', '2-byte-binary', '2-byte-bcd', '4-byte-ascii'].includes(lh)) {
        process.stderr.write(`unknown --length-header ${lh}\n`);
        return 2;
      }
      const result = decodeHex(positionals[0]!, {
        dialect: values.dialect,
        lengthHeader: lh as never,
        ...(values['no-tpdu'] ? { tpdu: null } : {}),
        ...(values['no-header'] ? { header: null } : values.header ? { header: values.header } : {}),
      });
      (result.ok ? process.stdout : process.stderr).write(`${result.text}\n`);
      return result.ok ? 0 : 1;
    }
    default:
      process.stderr.write(`unknown command ${command}\n${HELP}`);
      return 2;
  }
}

process.exitCode = main(process.argv.slice(2));
