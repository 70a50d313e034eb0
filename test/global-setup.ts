/**
 * Once around the whole suite: at the end, the bridges (and firewall rules) of the networks of test roots
 * that were deleted without `network rm` are taken down (network/bridge.ts's sweep, which the next
 * bridge made on the host would otherwise do), so that a run leaves none behind.
 */
import { sweepOrphanBridges } from '../network/index.js';
import { isRoot } from './helpers/prereq.js';

export default function setup(): () => Promise<void> {
  return async () => {
    if (isRoot) await sweepOrphanBridges();
  };
}
