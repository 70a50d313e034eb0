/**
 * A case of test/e2e/cases/ as a build: its context (a temp copy with the case's `setup` applied, the
 * repository is never written), its request and its options. Shared by the e2e suites that build cases.
 */
import { chmodSync, cpSync, lchownSync, mkdirSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BuildOptions, BuildRequest } from '../../engine/index.js';
import type { E2eCase } from './case-format.js';
import { fillPlaceholders } from './case-format.js';

/** `uid:gid` of a `chown` setup step. */
function ownerIds(spec: string): [number, number] {
  const [uid = '', gid = uid] = spec.split(':');
  if (!/^\d+$/u.test(uid) || !/^\d+$/u.test(gid)) throw new Error(`bad chown owner ${JSON.stringify(spec)}`);
  return [Number(uid), Number(gid)];
}

/** A copy of the case's directory at `dir` with its `setup` applied. */
export function prepareContext(c: E2eCase, dir: string): string {
  cpSync(c.dir, dir, { recursive: true });
  for (const step of c.spec.setup ?? []) {
    const [op, a = '', b = ''] = step;
    if (op === 'chmod') chmodSync(join(dir, b), parseInt(a, 8));
    else if (op === 'symlink') symlinkSync(a, join(dir, b));
    else if (op === 'mkdir') mkdirSync(join(dir, a), { recursive: true });
    else if (op === 'chown') lchownSync(join(dir, b), ...ownerIds(a));
    else throw new Error(`${c.name}: unknown setup step ${JSON.stringify(step)}`);
  }
  return dir;
}

/** The case's build request on `context`; `vars` fill the `{{…}}` placeholders of its build args. */
export function requestOf(
  c: E2eCase,
  context: string,
  vars: Readonly<Record<string, string>>,
  agentSocket = '',
): BuildRequest {
  const s = c.spec;
  const contexts: Record<string, string> = {};
  for (const [name, value] of Object.entries(s.buildContexts ?? {})) {
    contexts[name] = value.startsWith('docker-image://') ? value : resolve(context, value);
  }
  return {
    context,
    tags: [`e2e-${c.name}`],
    buildArgs: fillPlaceholders(s.buildArgs ?? {}, vars),
    ...(s.target !== undefined ? { target: s.target } : {}),
    ...(s.buildContexts ? { buildContexts: contexts } : {}),
    ...(s.network ? { network: s.network } : {}),
    ...(s.platform ? { platform: s.platform } : {}),
    ...(s.ssh ? { ssh: Object.fromEntries(s.ssh.map((id) => [id, agentSocket])) } : {}),
  };
}

/** The case's secrets as build options. */
export function optionsOf(c: E2eCase): BuildOptions {
  const secrets: Record<string, Uint8Array> = {};
  for (const [id, value] of Object.entries(c.spec.secrets ?? {}))
    secrets[id] = new TextEncoder().encode(value);
  return c.spec.secrets ? { secrets } : {};
}
