/**
 * `--memory`, `--memory-swap`, `--cpus`, `--pids-limit` as the OCI spec's `linux.resources`, and the
 * container's own cgroup (`linux.cgroupsPath`). runc writes the same fields to cgroup v1 (memory.
 * limit_in_bytes, memory.memsw.limit_in_bytes, cpu.cfs_quota_us/cfs_period_us, pids.max) and to
 * cgroup v2 (memory.max, memory.swap.max = swap − memory, cpu.max, pids.max); a cgroupfs path such
 * as `/tsbuild/<id>` is a directory under each v1 controller's root, or under the v2 root.
 *
 * docker's rules: memory at least 6 MiB; swap (memory + swap, as docker's `--memory-swap`) twice the
 * memory when not given, -1 unlimited, never below the memory, and left out (the memory alone limited,
 * as docker does after its warning) on a host whose kernel does not account swap; CPU period 100 ms and quota
 * nanoCpus × period / 1e9, at most the host's CPUs; a pids limit ≤ 0 is no limit.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError, readSmallFile } from '../core/index.js';
import type { ContainerResources } from './types.js';

export const MIN_MEMORY = 6 * 1024 * 1024;
export const CPU_PERIOD_US = 100_000;

export interface OciResources {
  memory?: { limit: number; swap?: number };
  cpu?: { quota: number; period: number };
  pids?: { limit: number };
}

let swapAccounted: boolean | undefined;

/**
 * Whether this host's memory cgroup limits swap (runc fails writing a swap limit where it cannot):
 * cgroup v1's `memory.memsw.limit_in_bytes` (absent without `swapaccount=1`), or v2's
 * `memory.swap.max` in our own cgroup (the root has none: then the memory controller's presence).
 */
export function hostSwapAccounting(root = '/sys/fs/cgroup'): boolean {
  if (existsSync(join(root, 'memory')))
    return existsSync(join(root, 'memory', 'memory.memsw.limit_in_bytes'));
  const own = /^0::(\/.*)$/m.exec(readSmallFile('/proc/self/cgroup') ?? '')?.[1] ?? '/';
  if (own !== '/') return existsSync(join(root, own, 'memory.swap.max'));
  return /\bmemory\b/.test(readSmallFile(join(root, 'cgroup.controllers')) ?? '');
}

function checkMemory(r: ContainerResources, swapAccounting: boolean): OciResources['memory'] {
  const { memory, memorySwap } = r;
  const swapGiven = memorySwap !== undefined && memorySwap !== 0;
  if (memory === undefined || memory === 0) {
    if (swapGiven)
      throw new InvalidArgumentError('--memory-swap needs --memory', {
        hint: 'set the memory limit (--memory) along with the memory+swap limit',
      });
    return undefined;
  }
  if (!Number.isSafeInteger(memory) || memory < MIN_MEMORY)
    throw new InvalidArgumentError(`invalid --memory ${memory}: the minimum memory limit is 6 MiB`);
  if (!swapAccounting) {
    // docker warns and limits the memory alone; a swap limit asked for cannot be kept.
    if (swapGiven)
      throw new InvalidArgumentError(`--memory-swap: this host's kernel does not limit swap`, {
        hint: 'boot with swapaccount=1 (cgroup v1), or leave --memory-swap out',
      });
    return { limit: memory };
  }
  const swap = swapGiven ? memorySwap : memory * 2;
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
export function ociResources(
  r: ContainerResources | undefined,
  host: { readonly swapAccounting?: boolean } = {},
): OciResources {
  if (r === undefined) return {};
  const out: OciResources = {};
  const memory = checkMemory(r, host.swapAccounting ?? (swapAccounted ??= hostSwapAccounting()));
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
 * A cgroupfs path for runc: plain names (safe characters, no `.`/`..`) joined by single slashes, so
 * that it stays under the controllers' mounts. Absolute (`/tsbuild/<id>`, as docker's `/docker/<id>`):
 * from each hierarchy's root, outside the caller's own cgroup, so a container outlives and is not
 * limited by the process that started it. Relative (`tsbuild/<id>`): under the caller's cgroup, where
 * a RUN step's container goes by default (runc's `<runc id>`).
 */
export function checkCgroupsPath(path: string): string {
  const segments = (path.startsWith('/') ? path.slice(1) : path).split('/');
  const ok = path !== '' && segments.every((s) => s !== '.' && s !== '..' && CGROUP_SEGMENT.test(s));
  if (!ok)
    throw new InvalidArgumentError(`invalid cgroups path ${JSON.stringify(path)}`, {
      hint: 'a path of plain names, e.g. /tsbuild/<id>',
    });
  return path;
}
