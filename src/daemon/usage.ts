/**
 * The usage text of every `posbridge` command and subcommand (what `posbridge <command> [<sub>] --help`
 * prints, and what follows the one-line message of a usage error), and the global help.
 */

export const EXIT_CODES_LINE =
  'Exit codes: 0 ok; 1 a problem found; 2 usage; 3 daemon not running; 4 configuration; 5 state directory; 6 port.';

const HOME_LINE =
  'State directory: --home <dir>, else POSBRIDGE_HOME, else ~/.posbridge (posbridge --help: the rule).';

export const HELP = `posbridge: local POS terminal bridge

Usage:
  posbridge init [--config <file>] [--yes] [--force]
                                      Write a configuration file (asks on a terminal; --yes takes flags).
  posbridge start --config <file> [--home <dir>] [--port <n>]
                                      Run the daemon (--home/POSBRIDGE_HOME, --port/POSBRIDGE_PORT override the file).
  posbridge token                     Print the API token (for scripts and QA).
  posbridge pair                      Show a one-time code that pairs a CRM page (through the running daemon).
  posbridge tokens [revoke <id>]      List the paired pages' tokens, or revoke one (closes its sessions).
  posbridge doctor [--config <file>]  Check the machine: state directory, keys, journal, disk, host, reader, ZVT terminal.
  posbridge journal list [--state S] [--limit N]   Recent operations (masked card data only).
  posbridge journal show <id>         One operation with its host attempts, events and store-and-forward.
  posbridge journal export            Every operation as CSV on stdout.
  posbridge recover                   Run start-up recovery now (through the running daemon).
  posbridge settle [--operator <id>]  Close the current batch (through the running daemon).
  posbridge params [--json] | --download [--kind capk|aid]
                                      The CA public keys and IC card parameters downloaded; download again.
  posbridge reconcile --file <csv> [--format json|csv|text]
                                      Compare the journal with a host settlement file (docs/reconciliation.md).
  posbridge reconcile --qr alipay|wechat --date YYYY-MM-DD [--format json|csv|text]
                                      Compare the journal with a scan-to-pay provider's bill of a China date.
  posbridge keys status | rewrap --to os|file:<path>   Where the key-encrypting key is; move the key files to another.
  posbridge readers scan | ports      Bluetooth LE readers in range (or why not); serial ports present.
  posbridge decode <hex> [--dialect cup-pos] [--length-header ...] [--no-tpdu] [--header <hex>|--no-header]
                                      Decode an ISO 8583 frame and describe it (field 55 tag by tag), card data masked.
  posbridge dialects                  List the ISO 8583 dialects in protocols/iso8583.
  posbridge hub serve | code | revoke The fleet hub (docs/fleet.md): run it, make an enrolment code, revoke a daemon.
  posbridge hub-enrol --hub <url> --code <code>   This laptop's daemon joins the fleet hub.
  posbridge <command> --help          Help for one command (and posbridge <command> <subcommand> --help).

The state directory, for every command (start included): --home <dir>, else POSBRIDGE_HOME, else the
configuration's stateDir (start, doctor --config), else ~/.posbridge. The demo (posbridge-sim demo)
follows the same rule with ~/.posbridge-demo as its default.

Exit codes: 0 success (a clean stop); 1 the command ran and found a problem (rejected input, a failed
check, an unknown id), or a stop forced by a second signal; 2 usage error (one line on stderr, the
command's usage on stdout); 3 the daemon is not running (for commands that need it); 4 invalid
configuration; 5 the state directory cannot be used (in use by another process, permission denied, not
a directory); 6 the port cannot be listened on (in use).
`;

const JOURNAL_LIST = `usage: posbridge journal list [--state <state>] [--limit <n>] [--home <dir>]
Recent operations as JSON, newest first (masked card data only); --state e.g. needs_attention.`;
const JOURNAL_SHOW = `usage: posbridge journal show <id> [--home <dir>]
One operation with its host attempts, events and store-and-forward items, as JSON. Exit 1: no such id.`;
const JOURNAL_EXPORT = `usage: posbridge journal export [--home <dir>]
Every operation as CSV on stdout (masked PAN; CRM text that a spreadsheet would run is defused).`;

const KEYS_STATUS = `usage: posbridge keys status [--home <dir>]
Where the key-encrypting key is (POSBRIDGE_KEY_FILE, the demo's <state dir>.kek, else the OS credential
store), its id, and whether the state directory's key files are wrapped under it.`;
const KEYS_REWRAP = `usage: posbridge keys rewrap --to os|file:<path> [--home <dir>]
Wraps the state directory's sealing and fingerprint keys under another key-encrypting key (rotation;
or moving from a key file to the OS store). Stop the daemon first: it takes the state directory's lock.`;

const READERS_SCAN = `usage: posbridge readers scan [--timeout-ms 5000] [--prefix PBR-] [--home <dir>]
Bluetooth LE readers in range (name, id, signal, profile) as JSON, or why it cannot scan
(no_bluetooth_adapter, bluetooth_off, bluetooth_unauthorized; docs/bluetooth.md). Exit 1: none found.`;
const READERS_PORTS = `usage: posbridge readers ports [--home <dir>]
The serial ports present, as JSON (a serial reader's path goes into readers[].path of the configuration).`;

const HUB_SERVE = `usage: posbridge hub serve [--port 7590] [--host 127.0.0.1] [--data <dir>]
Runs the fleet hub: DATABASE_URL (a PostgreSQL server) or PGlite in --data (or --home; default
POSBRIDGE_HUB_HOME, else ~/.posbridge-hub). Prints {"ready":true,"hub":<port>,"db":"pglite"|"postgres","url":...} and runs
until SIGTERM or SIGINT. POSBRIDGE_HUB_ADMIN_PASSWORD sets the dashboard user "admin". docs/fleet.md.`;
const HUB_CODE = `usage: posbridge hub code --store <store> [--name <laptop>] [--data <dir>]
A one-time enrolment code for a laptop of that store (valid one day), through the running hub.
Exit 3: no hub is running for --data.`;
const HUB_REVOKE = `usage: posbridge hub revoke <daemonId> [--data <dir>]
Refuses that daemon's credential from now on, through the running hub. Exit 3: no hub is running.`;

const TOKENS_REVOKE = `usage: posbridge tokens revoke <id> [--home <dir>]
Revokes a paired CRM page's token: its open sessions are closed at once. Exit 1: no such id.`;

/** `posbridge <command>` usage, and its subcommands' own. */
export const USAGE: Record<string, { usage: string; subcommands?: Record<string, string> }> = {
  init: {
    usage: `usage: posbridge init [--config <file>] [--force] [--yes] [settings]
Writes a daemon configuration file (mode 0600), checked against its JSON Schema first.
On a terminal it asks for each setting (Enter keeps the value in brackets); --yes asks nothing and takes
the settings below and the defaults (needed when stdin is not a terminal).
  --config <file>             where to write (default ~/.config/posbridge/config.json; Windows %APPDATA%)
  --force                     overwrite an existing file (else exit 1 and nothing is written)
  --yes, -y                   do not ask
Settings (docs/configuration.md explains each; docs/config.example.json is a complete example):
  --terminal-id <8 chars>     field 41 (required)        --merchant-id <15 chars>  field 42 (required)
  --merchant-name <text>                                 --currency <3 digits>     default 156 (CNY)
  --terminal reader|zvt       a card reader with the acquirer host (default), or an integrated ZVT terminal
  --host <address:port>       the acquirer host (reader; required)
  --dialect <name>            default cup-pos (posbridge dialects)
  --reader ble|serial|tcp     how the reader is connected (default ble)
  --reader-path <path>        serial device (--reader serial; posbridge readers ports lists them)
  --reader-address <host:port>  a networked reader (--reader tcp)
  --name-prefix <prefix>      Bluetooth name prefix (--reader ble; default PBR-)
  --paired-serial <sn>        the reader's serial number (repeat for several; required)
  --zvt <host[:port]>         ZVT terminal over TCP (port default 20007), or --zvt-serial <path>
  --zvt-password <6 digits>   the ZVT terminal's password
  --origin <url>              a CRM page origin allowed to connect (repeat for several)
  --port <n>                  WebSocket port (default 7583)
  --state-dir <dir>, --home   state directory (default ~/.posbridge; POSBRIDGE_HOME overrides it)
  --key-store os|file:<path>  where the key-encrypting key is (default os: the OS credential store)
${EXIT_CODES_LINE}`,
  },
  start: {
    usage: `usage: posbridge start --config <file> [--home <dir>] [--port <n>]
Runs until SIGTERM or SIGINT (a second one stops at once); prints {"ready":true,"ws":<port>} when listening.
State directory: --home, else POSBRIDGE_HOME, else the file's stateDir, else ~/.posbridge. Port: --port, else POSBRIDGE_PORT, else the file.
Logs: <state>/logs/posbridge.log (rotated), and pretty on a terminal. No configuration yet: posbridge init.
${EXIT_CODES_LINE}`,
  },
  token: {
    usage: `usage: posbridge token [--home <dir>]
Prints the token scripts use in session.hello. CRM pages pair instead (posbridge pair). Exit 1: no token yet.
${HOME_LINE}`,
  },
  pair: {
    usage: `usage: posbridge pair [--home <dir>] [--json]
Shows a one-time pairing code (6 digits, valid 3 minutes, single use) from the running daemon, also on
the card reader's display. Type it into the CRM page: it sends session.pair and keeps the token it gets,
bound to the page's Origin. The Origin must already be in allowedOrigins: pairing never adds one.
Exit 3: the daemon is not running.`,
  },
  tokens: {
    usage: `usage: posbridge tokens [--home <dir>] [--json]
       posbridge tokens revoke <id> [--home <dir>]
Lists the paired CRM pages' tokens (id, Origin, created, last used; never the token), or revokes one:
its open sessions are closed at once. The token file (posbridge token) is not a paired token.`,
    subcommands: { revoke: TOKENS_REVOKE },
  },
  doctor: {
    usage: `usage: posbridge doctor [--config <file> | --home <dir>] [--json]
Each check passes, warns or fails, one line each, with the fix. Exit 1 when any check fails.
Without --config the acquirer host is not checked (the demo's state directory needs no --config).
A ZVT terminal (zvt in the configuration): connection, registration, status enquiry and diagnosis, over the
running daemon's connection when one runs (a terminal serves one cash register), else doctor connects itself.`,
  },
  journal: {
    usage: `usage: posbridge journal list [--state S] [--limit N] | show <id> | export   [--home <dir>]
  list    recent operations (JSON, masked card data only)
  show    one operation with its host attempts, events and store-and-forward
  export  every operation as CSV
Works while the daemon runs (SQLite readers do not block it). ${HOME_LINE}`,
    subcommands: { list: JOURNAL_LIST, show: JOURNAL_SHOW, export: JOURNAL_EXPORT },
  },
  recover: {
    usage: `usage: posbridge recover [--home <dir>]
Asks the running daemon to run start-up recovery now (it also runs at every start). Exit 3: not running.`,
  },
  settle: {
    usage: `usage: posbridge settle [--operator <id>] [--home <dir>]
Closes the current batch (0500/0510, batch upload when unbalanced) through the running daemon; prints the
result as JSON. Exit 1: not settled (the JSON says why; it is resumable). Exit 3: not running.`,
  },
  params: {
    usage: `usage: posbridge params [--json] [--dialect cup-pos] [--home <dir>]
       posbridge params --download [--kind capk|aid] [--home <dir>]
Shows the terminal-management sets in the journal: the CA public keys (RID, index, expiry, check value
verified) and the IC card (AID) parameters, with their version and when and why they were downloaded.
--download asks the running daemon to download them again from the acquirer (both kinds, or --kind).
Exit 1: a set is missing or a stored key fails its check (or a download failed). Exit 3: --download and
the daemon is not running. See docs/terminal-management.md.`,
  },
  reconcile: {
    usage: `usage: posbridge reconcile --file <host-settlement.csv> [--format json|csv|text] [--terminal <tid>] [--home <dir>]
       posbridge reconcile --qr <alipay|wechat> --date <YYYY-MM-DD> [--format json|csv|text] [--config <file>] [--home <dir>]
Prints the report: json (default), csv (--csv is the same), or text (a summary for people). Exit 1 when
there are differences. --date is a China date whose day is over. Through the running daemon; without one,
--terminal <tid> (a file) or --config <file> (a bill: the providers' credentials). See docs/reconciliation.md.`,
  },
  keys: {
    usage: `usage: posbridge keys status [--home <dir>]
       posbridge keys rewrap --to os|file:<path> [--home <dir>]
The key-encrypting key comes from POSBRIDGE_KEY_FILE when set, else the demo's <state dir>.kek when
there is one, else the OS credential store. rewrap wraps the state directory's sealing and fingerprint
keys under another key-encrypting key (rotation; or moving from a key file to the OS store). Stop the
daemon first.`,
    subcommands: { status: KEYS_STATUS, rewrap: KEYS_REWRAP },
  },
  readers: {
    usage: `usage: posbridge readers scan [--timeout-ms 5000] [--prefix PBR-] | readers ports   [--home <dir>]
  scan   Bluetooth LE readers in range (name, id, signal, profile), or why it cannot scan
  ports  serial ports present`,
    subcommands: { scan: READERS_SCAN, ports: READERS_PORTS },
  },
  decode: {
    usage: `usage: posbridge decode <hex> [--dialect cup-pos] [--length-header none|2-byte-binary|2-byte-bcd|4-byte-ascii]
                        [--no-tpdu] [--header <hex> | --no-header]
Decodes an ISO 8583 frame (hex; spaces allowed) with the dialect's framing and describes it: every field
by name, field 55 tag by tag with the EMV explainers, card data masked (PAN first 6 / last 4; track,
PIN, expiry and sensitive tags only their length).
  --length-header   override the dialect's (none: the hex starts at the TPDU)
  --no-tpdu         no TPDU;  --no-header / --header <hex>  no header, or another one
  posbridge decode "$(posbridge-sim sample --hex)"   a sample chip sale
Exit 1: the frame was rejected (the error names where; a hint says which option may fit).`,
  },
  dialects: {
    usage: `usage: posbridge dialects
Lists the ISO 8583 dialects in protocols/iso8583 (for decode --dialect and host.dialect).`,
  },
  hub: {
    usage: `usage: posbridge hub <serve|code|revoke> [options]
  posbridge hub serve [--port 7590] [--host 127.0.0.1] [--data <dir>]
        Run the fleet hub: DATABASE_URL (a PostgreSQL server) or PGlite in --data. Prints
        {"ready":true,"hub":<port>,"db":"pglite"|"postgres"}. POSBRIDGE_HUB_ADMIN_PASSWORD sets the
        dashboard user "admin".
  posbridge hub code --store <store> [--name <laptop>] [--data <dir>]
        A one-time enrolment code for a laptop of that store (valid one day).
  posbridge hub revoke <daemonId> [--data <dir>]
        Refuse that daemon's credential from now on.
--data <dir> (or --home): the hub's own directory (default POSBRIDGE_HUB_HOME, else ~/.posbridge-hub).
See docs/fleet.md.`,
    subcommands: { serve: HUB_SERVE, code: HUB_CODE, revoke: HUB_REVOKE },
  },
  'hub-enrol': {
    usage: `usage: posbridge hub-enrol --hub <url> --code <code> [--config <file>] [--home <dir>] [--name <laptop>]
Joins the fleet hub with a one-time code; the daemon streams to it from its next start (docs/fleet.md).`,
  },
};

/** The usage `posbridge <command> [<sub>] --help` prints, or undefined for an unknown command. */
export function helpFor(command: string, args: readonly string[] = []): string | undefined {
  const c = USAGE[command];
  if (!c) return undefined;
  const sub = args.find((a) => !a.startsWith('-'));
  return (sub !== undefined && c.subcommands?.[sub]) || c.usage;
}

/** The command's usage (for the lines after a usage error). */
export function usageOf(command: string): string {
  return USAGE[command]?.usage ?? HELP;
}
