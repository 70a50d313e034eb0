/** What the network suites share: the preconditions and a look at the host's network stack. */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { cleanupContainer, listNetworks, pruneNetworks } from '../../network/index.js';
import { canRunSuite } from '../helpers/prereq.js';

export function canRunNetworks(suite: string, needsRunc = false): boolean {
  return canRunSuite(suite, {
    root: true,
    runc: needsRunc,
    tools: ['ip', 'iptables-save', 'iptables-restore'],
  });
}

export function containerId(): string {
  return randomBytes(32).toString('hex');
}

/** The names of the host's network devices (`ip -j link`). */
export function links(): string[] {
  const out = JSON.parse(execFileSync('ip', ['-j', 'link'], { encoding: 'utf8' })) as { ifname: string }[];
  return out.map((l) => l.ifname);
}

/** The network namespace files of ours in /run/netns. */
export function ourNetns(): string[] {
  return existsSync('/run/netns') ? readdirSync('/run/netns').filter((n) => n.startsWith('tsbuild-')) : [];
}

/** The firewall as iptables-save prints it, and nft's ruleset when nft is here. */
export function firewall(): string {
  let text = execFileSync('iptables-save', { encoding: 'utf8' });
  try {
    text += execFileSync('nft', ['list', 'ruleset'], { encoding: 'utf8' });
  } catch {
    // no nft: iptables-save showed everything
  }
  return text;
}

/** Removes every container attachment, network, device and rule a suite's root still has (a failed test's). */
export async function cleanupRoot(root: string): Promise<void> {
  for (const network of await listNetworks({ root }))
    for (const id of Object.keys(network.endpoints)) await cleanupContainer({ root, containerId: id });
  await pruneNetworks({ root });
}
