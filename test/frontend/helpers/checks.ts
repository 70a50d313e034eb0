/** The build-check test harness shared by checks.test.ts and checks-review.test.ts: convert a Dockerfile
 * with checks on and collect the warnings (rule, detail, line) and any error. */
import { expect } from 'vitest';
import { hostPlatform } from '../../../oci/index.js';
import { convertDockerfile } from '../../../frontend/dockerfile2llb/index.js';
import type { ConvertOptions } from '../../../frontend/dockerfile2llb/index.js';
import type { ImageConfig } from '../../../oci/index.js';
import type { CheckWarning } from '../../../frontend/checks/index.js';

export const host = hostPlatform();
export const image: ImageConfig = {
  architecture: host.architecture,
  os: 'linux',
  config: { Env: ['PATH=/usr/local/bin:/usr/bin:/bin'], Cmd: ['sh'], OnBuild: null },
  rootfs: { type: 'layers', diff_ids: [`sha256:${'a'.repeat(64)}`] },
  history: [{ created_by: 'import' }],
};

export interface Found {
  readonly rule: string;
  readonly detail: string;
  readonly line: number;
}

export interface CheckOutcome {
  readonly warnings: Found[];
  readonly raw: CheckWarning[];
  readonly error?: Error & { code?: string };
}

export async function check(
  dockerfile: string,
  extra: Partial<ConvertOptions> & { build?: boolean } = {},
): Promise<CheckOutcome> {
  const raw: CheckWarning[] = [];
  const { build, ...rest } = extra;
  const options: ConvertOptions = {
    source: dockerfile,
    resolveImage: async (ref) => {
      const arch = ref.startsWith('armimage') ? { architecture: 'arm64' } : {};
      const onbuild = ref.startsWith('withshell') ? { Shell: ['/bin/bash', '-c'] } : {};
      return {
        ref: `docker.io/library/${ref}`,
        config: { ...image, ...arch, config: { ...image.config, ...onbuild } },
      };
    },
    onCheckWarning: (w) => raw.push(w),
    ...(build ? {} : { check: true }),
    ...rest,
  };
  let error: (Error & { code?: string }) | undefined;
  try {
    const result = await convertDockerfile(options);
    expect(result.checks).toEqual(raw); // the sink and the result agree
  } catch (err) {
    error = err as Error;
  }
  const warnings = raw
    .map((w) => ({ rule: w.rule, detail: w.detail, line: w.range.start.line }))
    .sort((a, b) => a.line - b.line || (a.detail < b.detail ? -1 : a.detail > b.detail ? 1 : 0));
  return { warnings, raw, ...(error ? { error } : {}) };
}

export const w = (rule: string, detail: string, line: number): Found => ({ rule, detail, line });
