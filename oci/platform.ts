/**
 * Platforms in OCI terms (GOOS/GOARCH names): this host's, and containerd's rules to parse, normalise,
 * format and match them.
 */
import type { Platform } from './descriptor.js';

/** Node's `process.arch` names → GOARCH (and the variant Node's build implies). */
const NODE_ARCH: Readonly<Record<string, { architecture: string; variant?: string }>> = {
  x64: { architecture: 'amd64' },
  arm64: { architecture: 'arm64' },
  arm: { architecture: 'arm', variant: 'v7' },
  ia32: { architecture: '386' },
  ppc64: { architecture: 'ppc64le' },
  s390x: { architecture: 's390x' },
  riscv64: { architecture: 'riscv64' },
  loong64: { architecture: 'loong64' },
  mips64el: { architecture: 'mips64le' },
};

/** linux on this machine's architecture. */
export function hostPlatform(): Platform {
  return { os: 'linux', ...(NODE_ARCH[process.arch] ?? { architecture: process.arch }) };
}

/** `os/arch[/variant]`. */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** A platform after normalizePlatform: every part lower case, the variant '' when there is none. */
export interface NormalizedPlatform {
  readonly os: string;
  readonly architecture: string;
  readonly variant: string;
}

const ARCH_ALIASES: Readonly<Record<string, string>> = {
  i386: '386',
  x86_64: 'amd64',
  'x86-64': 'amd64',
  aarch64: 'arm64',
  armhf: 'arm',
  armel: 'arm',
};

/** Normalised os/architecture/variant (containerd's `platforms.Normalize`): x86_64 → amd64, macos → darwin … */
export function normalizePlatform(p: Platform): NormalizedPlatform {
  const os = p.os.toLowerCase() === 'macos' ? 'darwin' : p.os.toLowerCase();
  let architecture = p.architecture.toLowerCase();
  let variant = (p.variant ?? '').toLowerCase();
  if (p.architecture.toLowerCase() === 'armhf') variant = 'v7';
  if (p.architecture.toLowerCase() === 'armel') variant = 'v6';
  architecture = ARCH_ALIASES[architecture] ?? architecture;
  if (architecture === 'arm64' && (variant === 'v8' || variant === '8')) variant = '';
  if (architecture === 'arm' && variant === '') variant = 'v7';
  if (architecture === 'arm' && /^\d+$/.test(variant)) variant = `v${variant}`;
  if (architecture === 'amd64' && variant === 'v1') variant = '';
  return { os, architecture, variant };
}

const KNOWN_OS = new Set([
  'linux',
  'windows',
  'darwin',
  'freebsd',
  'netbsd',
  'openbsd',
  'solaris',
  'illumos',
]);

/**
 * An `os/arch[/variant]` specifier, normalised (containerd's `platforms.Parse`); undefined when it does
 * not parse. A lone word is an OS on `host`'s architecture, or else an architecture on linux.
 */
export function parsePlatform(text: string, host: Platform = hostPlatform()): NormalizedPlatform | undefined {
  const parts = text.toLowerCase().split('/');
  if (parts.length > 3 || parts.some((p) => !/^[a-z0-9_.-]+$/.test(p))) return undefined;
  const [first = '', architecture, variant] = parts;
  if (architecture === undefined && KNOWN_OS.has(first)) {
    return { os: first, architecture: host.architecture, variant: host.variant ?? '' };
  }
  if (architecture === undefined) return normalizePlatform({ os: 'linux', architecture: first });
  return normalizePlatform({ os: first, architecture, ...(variant !== undefined ? { variant } : {}) });
}

/**
 * Whether an image for `have` runs on `want` (containerd's default matcher): 0 no, 2 exactly, 1 it is
 * compatible (an older arm variant on arm; on amd64, an image that names no variant).
 */
export function matchPlatform(want: Platform, have: Platform): 0 | 1 | 2 {
  const w = normalizePlatform(want);
  const h = normalizePlatform(have);
  if (w.os !== h.os || w.architecture !== h.architecture) return 0;
  if (w.variant === h.variant) return 2;
  if (w.architecture === 'arm') {
    const wv = Number(w.variant.slice(1));
    const hv = Number(h.variant.slice(1));
    if (hv > 0 && hv < wv) return 1;
  }
  if (w.architecture === 'amd64' && h.variant === '') return 1;
  return 0;
}
