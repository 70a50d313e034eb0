/**
 * Choosing a manifest from an index for a platform, like containerd's default matcher: os and
 * architecture must match after normalisation (x86_64 → amd64, aarch64 → arm64 …); the variant must match
 * too, except that an arm host runs older arm variants (v7 runs v6 and v5) and arm64's v8 is the default.
 * Exact matches win over compatible ones; entries without a platform are never chosen.
 */
import type { Descriptor, Platform } from '../../oci/index.js';
import { matchPlatform, normalizePlatform } from '../../oci/index.js';

/** The best manifest in `manifests` for `want`, or undefined. Ties go to the first listed. */
export function selectManifest(manifests: readonly Descriptor[], want: Platform): Descriptor | undefined {
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
