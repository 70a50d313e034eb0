/**
 * A network's host side: its Linux bridge (up, the gateway's address on it) and its firewall rules,
 * made together and removed together. The rules go through iptables-restore --noflush (one process
 * for all of them, whichever backend the system's iptables uses) and each carries the comment
 * `tsbuild network <id>`, which is how they are found again and removed, whoever made them.
 *
 * Rules, inserted at the top of the chains they go in:
 * - filter FORWARD: traffic between the network's containers is accepted; to another of our networks
 *   it is dropped (networks are isolated, as docker's); out of the network it is accepted and replies
 *   come back (conntrack); an internal network drops both instead.
 * - nat POSTROUTING: MASQUERADE for the subnet's traffic leaving through another device (not for the
 *   traffic that stays on the bridge); none for an internal network.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { networksDir, recordSubnet } from './store.js';
import { FailedPreconditionError } from '../core/index.js';
import { formatCidr, overlaps } from './cidr.js';
import { hostPrefixes, ipBatch, linkExists, runTool } from './tools.js';
import type { NetworkRecord } from './types.js';

/** Every one of our bridges starts with this; a network's own is `tsb-<id 10>`. */
export const BRIDGE_PREFIX = 'tsb-';

function ruleComment(id: string): string {
  return `tsbuild network ${id}`;
}

function firewallRules(record: NetworkRecord): string {
  const b = record.bridge;
  const tag = `-m comment --comment "${ruleComment(record.id)}"`;
  // -I inserts at the top: the lines are in reverse of the order they end up in.
  const forward = record.internal
    ? [`-I FORWARD -o ${b} ${tag} -j DROP`, `-I FORWARD -i ${b} ${tag} -j DROP`]
    : [
        `-I FORWARD -o ${b} -m conntrack --ctstate RELATED,ESTABLISHED ${tag} -j ACCEPT`,
        `-I FORWARD -i ${b} ${tag} -j ACCEPT`,
      ];
  forward.push(
    `-I FORWARD -i ${b} -o ${BRIDGE_PREFIX}+ ${tag} -j DROP`,
    `-I FORWARD -i ${b} -o ${b} ${tag} -j ACCEPT`,
  );
  const subnet = formatCidr(recordSubnet(record));
  const nat = record.internal ? [] : [`-I POSTROUTING -s ${subnet} ! -o ${b} ${tag} -j MASQUERADE`];
  return ['*filter', ...forward, 'COMMIT', '*nat', ...nat, 'COMMIT', ''].join('\n');
}

/** The iptables-restore input that deletes every rule tagged with the network's id. */
async function ruleDeletions(id: string, signal?: AbortSignal): Promise<string | undefined> {
  const saved = await runTool('iptables-save', [], { signal });
  const comment = `--comment "${ruleComment(id)}"`;
  const out: string[] = [];
  let table: string[] = [];
  let count = 0;
  for (const line of saved.split('\n')) {
    if (line.startsWith('*')) table = [line];
    else if (line.startsWith('-A ') && line.includes(comment)) {
      table.push(`-D ${line.slice(3)}`);
      count++;
    } else if (line === 'COMMIT' && table.length > 1) out.push(...table, 'COMMIT');
  }
  return count === 0 ? undefined : `${out.join('\n')}\n`;
}

/** A subnet free when the network was made may have been taken since (another root's network, a VPN). */
async function checkStillFree(record: NetworkRecord, signal?: AbortSignal): Promise<void> {
  const subnet = recordSubnet(record);
  const clash = (await hostPrefixes(signal)).find((p) => overlaps(p, subnet));
  if (clash !== undefined)
    throw new FailedPreconditionError(
      `network ${record.name}'s subnet ${record.subnet} overlaps ${formatCidr(clash)}, which this host now routes`,
      { hint: 'remove the network and create it again (another subnet), or remove what took the range' },
    );
}

async function enableForwarding(): Promise<void> {
  const path = '/proc/sys/net/ipv4/ip_forward';
  if ((await readFile(path, 'utf8')).trim() !== '1') await writeFile(path, '1\n');
}

/**
 * Where each bridge of ours says which root's network it is (`<bridge>.json`: root and id), host-wide:
 * a root removed without `network rm` (a deleted test root, a wiped disk) leaves its bridges and rules
 * behind, and the next bridge made on the host takes them down (`sweepOrphanBridges`).
 */
export const BRIDGES_DIR = '/run/tsbuild/bridges';

interface BridgeOwner {
  readonly root: string;
  readonly id: string;
}

/** Takes down the bridges (and rules) whose network no longer exists in its root. Under the host lock. */
export async function sweepOrphanBridges(signal?: AbortSignal): Promise<void> {
  let names: string[];
  try {
    names = await readdir(BRIDGES_DIR);
  } catch {
    return;
  }
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    const file = join(BRIDGES_DIR, name);
    let owner: BridgeOwner;
    try {
      owner = JSON.parse(await readFile(file, 'utf8')) as BridgeOwner;
    } catch {
      await rm(file, { force: true });
      continue;
    }
    if (existsSync(join(networksDir(owner.root), `${owner.id}.json`))) continue;
    await removeBridge({ bridge: name.slice(0, -'.json'.length), id: owner.id }, signal);
  }
}

/** Makes the bridge and its rules unless the bridge is there (then both are: they are made together). */
export async function ensureBridge(root: string, record: NetworkRecord, signal?: AbortSignal): Promise<void> {
  if (linkExists(record.bridge)) return;
  await sweepOrphanBridges(signal);
  await checkStillFree(record, signal);
  await mkdir(BRIDGES_DIR, { recursive: true, mode: 0o700 });
  const owner: BridgeOwner = { root: resolve(root), id: record.id };
  await writeFile(join(BRIDGES_DIR, `${record.bridge}.json`), JSON.stringify(owner), { mode: 0o600 });
  // Rules left by a crash between the two steps would be doubled: drop them first.
  await removeRules(record.id, signal);
  const prefixLen = recordSubnet(record).prefixLen;
  await ipBatch(
    [
      `link add ${record.bridge} type bridge`,
      `addr add ${record.gateway}/${prefixLen} dev ${record.bridge}`,
      `link set ${record.bridge} up`,
    ],
    { signal },
  );
  try {
    if (!record.internal) await enableForwarding();
    await runTool('iptables-restore', ['--noflush'], { input: firewallRules(record), signal });
  } catch (err) {
    await removeBridge(record);
    throw err;
  }
}

export async function removeRules(id: string, signal?: AbortSignal): Promise<void> {
  const deletions = await ruleDeletions(id, signal);
  if (deletions !== undefined) await runTool('iptables-restore', ['--noflush'], { input: deletions, signal });
}

/** Removes the bridge, its rules and its owner file, whichever of them is there (idempotent). */
export async function removeBridge(
  record: Pick<NetworkRecord, 'bridge' | 'id'>,
  signal?: AbortSignal,
): Promise<void> {
  if (linkExists(record.bridge)) await ipBatch([`link del ${record.bridge}`], signal ? { signal } : {});
  await removeRules(record.id, signal);
  await rm(join(BRIDGES_DIR, `${record.bridge}.json`), { force: true });
}
