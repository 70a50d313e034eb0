/**
 * A docker credential helper for tests: an executable `docker-credential-<name>` script written to a temp
 * directory (put it first on PATH), speaking the real protocol: `get` (server URL on stdin, JSON
 * `{ServerURL, Username, Secret}` out, or docker-credential-helpers' "credentials not found in native
 * keychain" and exit 1), `store` (that JSON on stdin), `erase` (server URL on stdin). It keeps its store in
 * `<dir>/store-<name>.json` and logs `action server` lines (never a secret) to `<dir>/calls-<name>.log`.
 * It always says a line on stderr (only stdout is the answer). `behaviour` makes it sleep, fail
 * (echoing its input, to test that the secret is cut out) or print junk.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type HelperBehaviour = 'ok' | 'sleep' | 'fail-echo' | 'junk';

export interface CredHelper {
  /** The name in config.json (the program is docker-credential-<name>). */
  readonly name: string;
  /** What the helper holds: ServerURL → {Username, Secret}. */
  store(): Record<string, { Username: string; Secret: string }>;
  /** The `action server` lines it was called with. */
  calls(): string[];
}

export function writeCredHelper(dir: string, name: string, behaviour: HelperBehaviour = 'ok'): CredHelper {
  const storeFile = join(dir, `store-${name}.json`);
  const logFile = join(dir, `calls-${name}.log`);
  const script = `#!/usr/bin/env node
const fs = require('node:fs');
const action = process.argv[2];
const input = fs.readFileSync(0, 'utf8');
const store = fs.existsSync(${JSON.stringify(storeFile)}) ? JSON.parse(fs.readFileSync(${JSON.stringify(storeFile)}, 'utf8')) : {};
const behaviour = ${JSON.stringify(behaviour)};
const server = action === 'store' ? JSON.parse(input).ServerURL : input.trim();
fs.appendFileSync(${JSON.stringify(logFile)}, action + ' ' + server + '\\n');
// Chatter on stderr, as real helpers may print: never part of the answer.
process.stderr.write('test helper: ' + action + '\\n');
if (behaviour === 'sleep') { setTimeout(() => {}, 60000); return; }
if (behaviour === 'fail-echo') { process.stdout.write('cannot reach the keyring: ' + input + '\\n'); process.exit(3); }
if (behaviour === 'junk') { process.stdout.write('<html>not json</html>'); process.exit(0); }
const save = () => fs.writeFileSync(${JSON.stringify(storeFile)}, JSON.stringify(store));
if (action === 'store') {
  const c = JSON.parse(input);
  store[c.ServerURL] = { Username: c.Username, Secret: c.Secret };
  save();
} else if (action === 'get' || action === 'erase') {
  if (!(server in store)) { process.stdout.write('credentials not found in native keychain\\n'); process.exit(1); }
  if (action === 'get') process.stdout.write(JSON.stringify({ ServerURL: server, ...store[server] }));
  else { delete store[server]; save(); }
} else { process.stdout.write('unknown action\\n'); process.exit(1); }
`;
  const path = join(dir, `docker-credential-${name}`);
  writeFileSync(path, script);
  chmodSync(path, 0o755);
  return {
    name,
    store: () =>
      existsSync(storeFile)
        ? (JSON.parse(readFileSync(storeFile, 'utf8')) as Record<
            string,
            { Username: string; Secret: string }
          >)
        : {},
    calls: () =>
      existsSync(logFile) ? readFileSync(logFile, 'utf8').trimEnd().split('\n').filter(Boolean) : [],
  };
}

/** Seeds the helper's store (as if a login had stored it). */
export function seedCredHelper(
  dir: string,
  name: string,
  entries: Record<string, { Username: string; Secret: string }>,
): void {
  writeFileSync(join(dir, `store-${name}.json`), JSON.stringify(entries));
}
