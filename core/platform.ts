/** This machine's platform in OCI terms (Node's `process.arch` names → GOARCH names). */

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

export interface HostPlatform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

/** linux on this machine's architecture. */
export function hostPlatform(): HostPlatform {
  return { os: 'linux', ...(NODE_ARCH[process.arch] ?? { architecture: process.arch }) };
}

/** `os/arch[/variant]`. */
export function formatPlatform(p: HostPlatform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}
