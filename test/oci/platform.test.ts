/**
 * oci/platform.ts: containerd's platform rules (parse, normalise, format, match) and this host's platform;
 * and no copy of oci's platform rules, image config types or digest helper elsewhere in the tree.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  formatPlatform,
  hostPlatform,
  matchPlatform,
  normalizePlatform,
  parsePlatform,
} from '../../oci/index.js';

describe('platforms', () => {
  it("names this host's platform in GOARCH terms", () => {
    const host = hostPlatform();
    expect(host.os).toBe('linux');
    const arch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', ia32: '386' };
    expect(host.architecture).toBe(arch[process.arch] ?? host.architecture);
    expect(formatPlatform(host)).toMatch(/^linux\/[a-z0-9]+(\/v\d+)?$/);
  });

  it('formats os/arch[/variant]', () => {
    expect(formatPlatform({ os: 'linux', architecture: 'amd64' })).toBe('linux/amd64');
    expect(formatPlatform({ os: 'linux', architecture: 'arm', variant: 'v7' })).toBe('linux/arm/v7');
  });

  it('normalises like containerd', () => {
    expect(normalizePlatform({ os: 'Linux', architecture: 'x86_64' })).toEqual({
      os: 'linux',
      architecture: 'amd64',
      variant: '',
    });
    expect(normalizePlatform({ os: 'macos', architecture: 'aarch64', variant: 'v8' })).toEqual({
      os: 'darwin',
      architecture: 'arm64',
      variant: '',
    });
    expect(normalizePlatform({ os: 'linux', architecture: 'armhf' }).variant).toBe('v7');
    expect(normalizePlatform({ os: 'linux', architecture: 'armel' }).variant).toBe('v6');
    expect(normalizePlatform({ os: 'linux', architecture: 'arm', variant: '5' }).variant).toBe('v5');
    expect(normalizePlatform({ os: 'linux', architecture: 'amd64', variant: 'v1' }).variant).toBe('');
  });

  it('parses a specifier: os/arch[/variant], a lone OS on the host architecture, a lone architecture on linux', () => {
    const host = { os: 'linux', architecture: 'riscv64' };
    expect(parsePlatform('linux/x86_64', host)).toEqual({ os: 'linux', architecture: 'amd64', variant: '' });
    expect(parsePlatform('MacOS/arm64/v8', host)).toEqual({
      os: 'darwin',
      architecture: 'arm64',
      variant: '',
    });
    expect(parsePlatform('windows', host)).toEqual({ os: 'windows', architecture: 'riscv64', variant: '' });
    expect(parsePlatform('aarch64', host)).toEqual({ os: 'linux', architecture: 'arm64', variant: '' });
    expect(parsePlatform('linux/arm/v7/x', host)).toBeUndefined();
    expect(parsePlatform('linux//amd64', host)).toBeUndefined();
    expect(parsePlatform('linux/$ARCH', host)).toBeUndefined();
  });

  it('matches like containerd (normalisation, arm variants, exact first)', () => {
    expect(
      matchPlatform({ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'x86_64' }),
    ).toBe(2);
    expect(
      matchPlatform(
        { os: 'linux', architecture: 'arm64' },
        { os: 'linux', architecture: 'arm64', variant: 'v8' },
      ),
    ).toBe(2);
    expect(
      matchPlatform(
        { os: 'linux', architecture: 'arm', variant: 'v7' },
        { os: 'linux', architecture: 'arm', variant: 'v6' },
      ),
    ).toBe(1);
    expect(
      matchPlatform(
        { os: 'linux', architecture: 'arm', variant: 'v6' },
        { os: 'linux', architecture: 'arm', variant: 'v7' },
      ),
    ).toBe(0);
    expect(
      matchPlatform(
        { os: 'linux', architecture: 'amd64', variant: 'v3' },
        { os: 'linux', architecture: 'amd64' },
      ),
    ).toBe(1);
    expect(
      matchPlatform({ os: 'linux', architecture: 'amd64' }, { os: 'windows', architecture: 'amd64' }),
    ).toBe(0);
  });
});

describe('one copy of each', () => {
  const root = join(import.meta.dirname, '..', '..');
  const sources = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
    );
  const folders = readdirSync(root, { withFileTypes: true })
    .filter(
      (e) => e.isDirectory() && !/^(oci|test|bench|node_modules|dist|examples|scripts)$|^\./.test(e.name),
    )
    .map((e) => e.name);

  it('has no platform rules, image config types or sha256 digest helper outside oci/', () => {
    const copies =
      /ARCH_ALIASES|\bx86_64: |interface (Platform|PlatformSpec|HostPlatform|ContainerConfigSpec|HealthcheckSpec|HistorySpec)\b|function (normalizePlatform|parsePlatform|formatPlatform|matchPlatform|sha256Digest)\b|`sha256:\$\{createHash\('sha256'\)\.update\(/u;
    // The solver may import only core/: its cache keys hash with their own one-liner.
    const allowed = new Set([join(root, 'solver', 'cachekey.ts')]);
    const found = folders
      .flatMap((f) => sources(join(root, f)))
      .filter((file) => !allowed.has(file) && copies.test(readFileSync(file, 'utf8')));
    expect(found).toEqual([]);
  });
});
