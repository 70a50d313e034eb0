/**
 * Choosing a manifest from an index for a platform, like containerd's default matcher: os and
 * architecture must match after normalisation (x86_64 → amd64, aarch64 → arm64 …); the variant must match
 * too, except that an arm host runs older arm variants (v7 runs v6 and v5) and arm64's v8 is the default.
 * Exact matches win over compatible ones; entries without a platform are never chosen.
 */
import type { Descriptor, Platform } from '../../oci/index.js';

export interface PlatformSpec {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

const ARCH_ALIASES: Readonly<Record<string, string>> = {
  i386: '386',
  x86_64: 'amd64',
  'x86-64': 'amd64',
  aarch64: 'arm64',
  armhf: 'arm',
  armel: 'arm',
};

/** Normalised os/architecture/variant (containerd's `platforms.Normalize`). */
export function normalizePlatform(p: PlatformSpec): { os: string; architecture: string; variant: string } {
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

/** 0: no match, 2: exact, 1: compatible (an older arm variant). */
export function matchPlatform(want: PlatformSpec, have: PlatformSpec): 0 | 1 | 2 {
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

/** The best manifest in `manifests` for `want`, or undefined. Ties go to the first listed. */
export function selectManifest(manifests: readonly Descriptor[], want: PlatformSpec): Descriptor | undefined {
  let best: Descriptor | undefined;
  let bestScore = 0;
  let bestVariant = -1;
  for (const m of manifests) {
    const p: Platform | undefined = m.platform;
    if (p === undefined || typeof p.os !== 'string' || typeof p.architecture !== 'string') continue;
    const score = matchPlatform(want, p);
    // Among compatible arm variants, prefer the newest one.
    const variant = Number(normalizePlatform(p).variant.replace(/^v/, '')) || 0;
    if (score > bestScore || (score === 1 && bestScore === 1 && variant > bestVariant)) {
      best = m;
      bestScore = score;
      bestVariant = variant;
    }
  }
  return best;
}
