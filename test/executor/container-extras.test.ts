import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../core/errors.js';
import { allCapabilities, capabilitySet, seccompForCapabilities } from '../../executor/capabilities.js';
import { containerExtras } from '../../executor/container-extras.js';
import { checkCgroupsPath, hostSwapAccounting, ociResources } from '../../executor/resources.js';
import { DEFAULT_CAPABILITIES, defaultSeccompProfile } from '../../executor/security.js';

const MiB = 1024 * 1024;

describe('container extras (pure)', () => {
  it('maps docker resources to OCI: swap twice the memory by default, cpu quota over a 100 ms period', () => {
    const swap = { swapAccounting: true };
    expect(ociResources({ memory: 64 * MiB }, swap)).toEqual({
      memory: { limit: 64 * MiB, swap: 128 * MiB },
    });
    expect(ociResources({ memory: 64 * MiB, memorySwap: -1 }, swap)).toEqual({
      memory: { limit: 64 * MiB, swap: -1 },
    });
    expect(ociResources({ memory: 64 * MiB, memorySwap: 100 * MiB }, swap).memory?.swap).toBe(100 * MiB);
    const noSwap = { swapAccounting: false };
    expect(ociResources({ memory: 64 * MiB }, noSwap)).toEqual({ memory: { limit: 64 * MiB } });
    expect(() => ociResources({ memory: 64 * MiB, memorySwap: -1 }, noSwap)).toThrow(
      /--memory-swap: this host/,
    );
    expect(ociResources({ nanoCpus: 1.5e9 })).toEqual({ cpu: { quota: 150000, period: 100000 } });
    expect(ociResources({ pidsLimit: 0 })).toEqual({});
    expect(ociResources({ pidsLimit: -1 })).toEqual({});
    expect(ociResources({ pidsLimit: 20 })).toEqual({ pids: { limit: 20 } });
    expect(() => ociResources({ memory: 64 * MiB, memorySwap: 32 * MiB }, swap)).toThrow(/--memory-swap/);
    expect(() => ociResources({ memorySwap: 32 * MiB })).toThrow(/--memory-swap needs --memory/);
    expect(() => ociResources({ nanoCpus: 1e6 })).toThrow(/--cpus 0.001/);
  });

  it('knows whether the host limits swap (cgroup v1: memory.memsw files)', () => {
    const root = mkdtempSync(join(tmpdir(), 'tsbuild-cg-'));
    try {
      mkdirSync(join(root, 'memory'));
      expect(hostSwapAccounting(root)).toBe(false);
      writeFileSync(join(root, 'memory', 'memory.memsw.limit_in_bytes'), '');
      expect(hostSwapAccounting(root)).toBe(true);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('checks cgroups paths', () => {
    expect(checkCgroupsPath('/tsbuild/abc')).toBe('/tsbuild/abc');
    expect(checkCgroupsPath('tsbuild/abc')).toBe('tsbuild/abc');
    for (const bad of ['', '../x', '/tsbuild/../x', '/tsbuild//x', '/', '/a/./b', '/a b', '/a/', '//a'])
      expect(() => checkCgroupsPath(bad), bad).toThrow(InvalidArgumentError);
  });

  it('adds and drops capabilities as docker (ALL, names without CAP_, any case)', () => {
    expect(capabilitySet()).toEqual(DEFAULT_CAPABILITIES);
    expect(capabilitySet(['net_admin'], ['CHOWN'])).toEqual([
      ...DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_CHOWN'),
      'CAP_NET_ADMIN',
    ]);
    expect(capabilitySet(['ALL'], ['SYS_ADMIN'])).toEqual(
      allCapabilities().filter((c) => c !== 'CAP_SYS_ADMIN'),
    );
    expect(capabilitySet(['KILL'], ['all'])).toEqual(['CAP_KILL']);
    expect(capabilitySet(['CHOWN'])).toEqual(DEFAULT_CAPABILITIES);
    expect(() => capabilitySet([], ['CAP_NOPE'])).toThrow('--cap-drop: unknown capability "CAP_NOPE"');
  });

  it('lifts the seccomp denials a capability allows, and only those', () => {
    const base = defaultSeccompProfile('x64');
    const denied = (p: typeof base): string[] => p.syscalls.flatMap((r) => r.names);
    expect(seccompForCapabilities(base, [...DEFAULT_CAPABILITIES])).toBe(base);
    const ptrace = seccompForCapabilities(base, ['CAP_SYS_PTRACE']);
    expect(denied(ptrace)).not.toContain('ptrace');
    expect(denied(ptrace)).toContain('mount');
    expect(denied(base)).toContain('ptrace');
  });

  it("leaves a RUN step's spec alone when no container field is given", () => {
    const spec = {
      process: { args: ['true'], capabilities: { bounding: ['X'] } },
      linux: { resources: { devices: [] }, seccomp: defaultSeccompProfile() },
    };
    const before = JSON.stringify(spec);
    const extras = containerExtras({ rootfs: '/r', args: ['true'] });
    extras.apply(spec);
    expect(extras.mounts).toEqual([]);
    expect(JSON.stringify(spec)).toBe(before);
  });
});
