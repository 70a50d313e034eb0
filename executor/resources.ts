/**
 * `--memory`, `--memory-swap`, `--cpus`, `--pids-limit` as the OCI spec's `linux.resources`, and the
 * container's own cgroup (`linux.cgroupsPath`). runc writes the same fields to cgroup v1 (memory.
 * limit_in_bytes, memory.memsw.limit_in_bytes, cpu.cfs_quota_us/cfs_period_us, pids.max) and to
 * cgroup v2 (memory.max, memory.swap.max = swap − memory, cpu.max, pids.max); a cgroupfs path such
 * as `/tsbuild/<id>` is a directory under each v1 controller, or under the v2 root.
 *
 * docker's rules: memory at least 6 MiB; swap (memory + swap, as docker's `--memory-swap`) twice the
 * memory when not given, -1 unlimited, never below the memory; CPU period 100 ms and quota
 * nanoCpus × period / 1e9, at most the host's CPUs; a pids limit ≤ 0 is no limit.
 */
import { availableParallelism } from 'node:os';
import { posix } from 'node:path';
import { InvalidArgumentError } from '../core/index.js';
import type { ContainerResources } from './types.js';

export const MIN_MEMORY = 6 * 1024 * 1024;
export const CPU_PERIOD_US = 100_000;

export interface OciResources {
  memory?: { limit: number; swap: number };
  cpu?: { quota: number; period: number };
  pids?: { limit: number };
}

function checkMemory(r: ContainerResources): OciResources['memory'] {
  const { memory, memorySwap } = r;
  if (memory === undefined || memory === 0) {
    if (memorySwap !== undefined && memorySwap !== 0)
      throw new InvalidArgumentError('--memory-swap needs --memory', {
        hint: 'set the memory limit (--memory) along with the memory+swap limit',
      });
    return undefined;
  }
  if (!Number.isSafeInteger(memory) || memory < MIN_MEMORY)
    throw new InvalidArgumentError(`invalid --memory ${memory}: the minimum memory limit is 6 MiB`);
  const swap = memorySwap === undefined || memorySwap === 0 ? memory * 2 : memorySwap;
  if (swap !== -1 && (!Number.isSafeInteger(swap) || swap < memory))
    throw new InvalidArgumentError(
      `invalid --memory-swap ${swap}: it is memory plus swap, so at least --memory (${memory}), or -1`,
    );
  return { limit: memory, swap };
}

function checkCpus(nanoCpus: number | undefined): OciResources['cpu'] {
  if (nanoCpus === undefined || nanoCpus === 0) return undefined;
  const cpus = availableParallelism();
  if (!Number.isSafeInteger(nanoCpus) || nanoCpus < 0 || nanoCpus > cpus * 1e9)
    throw new InvalidArgumentError(
      `invalid --cpus ${nanoCpus / 1e9}: the range is 0.01 to ${cpus}, as there are ${cpus} CPUs`,
    );
  const quota = Math.round((nanoCpus * CPU_PERIOD_US) / 1e9);
  if (quota < 1000)
    throw new InvalidArgumentError(`invalid --cpus ${nanoCpus / 1e9}: the range is 0.01 to ${cpus}`);
  return { quota, period: CPU_PERIOD_US };
}

/** The OCI `linux.resources` entries for a request's limits (none for an absent or empty one). */
export function ociResources(r: ContainerResources | undefined): OciResources {
  if (r === undefined) return {};
  const out: OciResources = {};
  const memory = checkMemory(r);
  if (memory) out.memory = memory;
  const cpu = checkCpus(r.nanoCpus);
  if (cpu) out.cpu = cpu;
  if (r.pidsLimit !== undefined) {
    if (!Number.isSafeInteger(r.pidsLimit))
      throw new InvalidArgumentError(`invalid --pids-limit ${r.pidsLimit}`);
    if (r.pidsLimit > 0) out.pids = { limit: r.pidsLimit };
  }
  return out;
}

const CGROUP_SEGMENT = /^[A-Za-z0-9_.:@-]+$/;

/**
 * A cgroupfs path for runc: absolute, clean, no `.`/`..` segment, names of safe characters only, so
 * that it stays under the controllers' mounts.
 */
export function checkCgroupsPath(path: string): string {
  const segments = path.split('/').slice(1);
  const ok =
    path.startsWith('/') &&
    posix.normalize(path) === path &&
    segments.length > 0 &&
    segments.every((s) => s !== '.' && s !== '..' && CGROUP_SEGMENT.test(s));
  if (!ok)
    throw new InvalidArgumentError(`invalid cgroups path ${JSON.stringify(path)}`, {
      hint: 'an absolute path of plain names, e.g. /tsbuild/<id>',
    });
  return path;
}
