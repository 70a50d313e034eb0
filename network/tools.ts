/**
 * The host tools the networks are made with: `ip` (iproute2, batched: one process per namespace per
 * change), `iptables-save` / `iptables-restore` (whichever backend the system's iptables uses,
 * nf_tables or legacy: the same commands), and what the host's routing table holds.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { CancelledError, FailedPreconditionError, TsbuildError } from '../core/index.js';
import { tryParseCidr } from './cidr.js';
import type { Cidr } from './cidr.js';

/** Where `ip netns add` puts its namespace files (iproute2's NETNS_RUN_DIR). */
export const NETNS_DIR = '/run/netns';

export interface ToolOptions {
  readonly input?: string;
  readonly signal?: AbortSignal;
}

/** Runs `command args` and returns its stdout; a non-zero exit throws with its stderr. */
export function runTool(
  command: string,
  args: readonly string[],
  options: ToolOptions = {},
): Promise<string> {
  if (options.signal?.aborted) return Promise.reject(new CancelledError());
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], signal: options.signal });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.stdin.on('error', () => undefined); // a tool that exits early closes its stdin
    child.stdin.end(options.input ?? '');
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (error.name === 'AbortError') reject(new CancelledError());
      else if (error.code === 'ENOENT')
        reject(
          new FailedPreconditionError(`${command} is not installed`, {
            hint: 'install iproute2 and iptables',
          }),
        );
      else reject(error);
    });
    child.once('close', (code) => {
      if (code === 0) return resolve(Buffer.concat(out).toString());
      const stderr = Buffer.concat(err).toString().trim();
      reject(new TsbuildError('INTERNAL', `${command} ${args.join(' ')} failed (exit ${code}): ${stderr}`));
    });
  });
}

/** `ip [-n netns] -batch -` with one command per line; nothing to run when `lines` is empty. */
export async function ipBatch(
  lines: readonly string[],
  options: { netns?: string; signal?: AbortSignal } = {},
) {
  if (lines.length === 0) return;
  const args = [...(options.netns === undefined ? [] : ['-n', options.netns]), '-batch', '-'];
  await runTool('ip', args, { input: `${lines.join('\n')}\n`, signal: options.signal });
}

/** Whether a network device of that name exists in the host's namespace. */
export function linkExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}

interface IpRoute {
  readonly dst?: string;
}
interface IpAddr {
  readonly addr_info?: readonly { family?: string; local?: string; prefixlen?: number }[];
}

/** Every IPv4 prefix the host routes or has an address in (`ip -j route`, `ip -j addr`). */
export async function hostPrefixes(signal?: AbortSignal): Promise<Cidr[]> {
  const [routes, addrs] = await Promise.all([
    runTool('ip', ['-j', '-4', 'route', 'show', 'table', 'all'], { signal }),
    runTool('ip', ['-j', '-4', 'addr'], { signal }),
  ]);
  const out: Cidr[] = [];
  for (const route of JSON.parse(routes || '[]') as IpRoute[]) {
    if (route.dst === undefined || route.dst === 'default') continue;
    const cidr = tryParseCidr(route.dst.includes('/') ? route.dst : `${route.dst}/32`);
    if (cidr) out.push(cidr);
  }
  for (const link of JSON.parse(addrs || '[]') as IpAddr[])
    for (const a of link.addr_info ?? []) {
      const cidr = a.family === 'inet' ? tryParseCidr(`${a.local}/${a.prefixlen}`) : undefined;
      if (cidr) out.push(cidr);
    }
  return out;
}
