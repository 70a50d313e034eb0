/**
 * Whether a string is a valid image reference (distribution/reference's ParseNormalizedNamed), and
 * what `os/arch` a platform string names (containerd's platforms.Parse, normalised): the two questions
 * the FROM checks ask. The frontend may not import image/, so the grammar is restated here.
 */

const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const NAME = `(?:${DOMAIN}/)?${COMPONENT}(?:/${COMPONENT})*`;
const REFERENCE = new RegExp(`^(${NAME})(?::${TAG})?(?:@${DIGEST})?$`);
const HEX64 = /^[a-f0-9]{64}$/;

/** True when `ref` parses as a normalised named reference (`busybox`, `reg:5000/a/b:tag@sha256:…`). */
export function isValidReference(ref: string): boolean {
  if (ref === '' || HEX64.test(ref)) return false;
  const m = REFERENCE.exec(ref);
  if (!m) return false;
  return (m[1] ?? '').length <= 255;
}

const ARCH_ALIASES: Readonly<Record<string, string>> = {
  x86_64: 'amd64',
  'x86-64': 'amd64',
  aarch64: 'arm64',
  armhf: 'arm',
  armel: 'arm',
  i386: '386',
};
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

/** `os/arch[/variant]` → its os and architecture; undefined when it does not parse. */
export function parsePlatform(text: string, hostArch: string): { os: string; arch: string } | undefined {
  const parts = text.toLowerCase().split('/');
  if (parts.length > 3 || parts.some((p) => !/^[a-z0-9_.-]+$/.test(p))) return undefined;
  const arch = (a: string): string => ARCH_ALIASES[a] ?? a;
  if (parts.length === 1) {
    const only = parts[0] ?? '';
    return KNOWN_OS.has(only) ? { os: only, arch: hostArch } : { os: 'linux', arch: arch(only) };
  }
  return { os: parts[0] === 'macos' ? 'darwin' : (parts[0] ?? ''), arch: arch(parts[1] ?? '') };
}
