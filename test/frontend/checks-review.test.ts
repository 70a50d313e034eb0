/**
 * Build checks, review follow-ups: where BuildKit's linter stays silent and tsbuild warned (EXPOSE
 * with an empty host part, instructions after the one that stops parsing before any FROM).
 */
import { describe, expect, it } from 'vitest';
import { hostPlatform } from '../../core/platform.js';
import { convertDockerfile } from '../../frontend/dockerfile2llb/index.js';
import type { ConvertOptions, ImageSpec } from '../../frontend/dockerfile2llb/index.js';
import type { CheckWarning } from '../../frontend/checks/index.js';

const host = hostPlatform();
const image: ImageSpec = {
  architecture: host.architecture,
  os: 'linux',
  config: { Env: ['PATH=/usr/local/bin:/usr/bin:/bin'], Cmd: ['sh'], OnBuild: null },
  rootfs: { type: 'layers', diff_ids: ['sha256:' + 'a'.repeat(64)] },
  history: [{ created_by: 'import' }],
};

interface Found {
  readonly rule: string;
  readonly detail: string;
  readonly line: number;
}

interface CheckOutcome {
  readonly warnings: Found[];
  readonly raw: CheckWarning[];
  readonly error?: Error & { code?: string };
}

async function check(
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
    ...(build ? {} : { checkOnly: true }),
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

const w = (rule: string, detail: string, line: number): Found => ({ rule, detail, line });

describe('build checks: review follow-ups', () => {
  it('ExposeInvalidFormat fires only for a non-empty IP or host port, as BuildKit splits them', async () => {
    const found = (p: string) =>
      `EXPOSE instruction should not define an IP address or host-port mapping, found '${p}'`;
    // BuildKit's splitParts: ':80' has an empty host port, '::80' an empty IP and host port.
    expect((await check('FROM scratch\nEXPOSE :80 ::81\n')).warnings).toEqual([]);
    expect((await check('FROM scratch\nEXPOSE 1.2.3.4::80 :8080:81\n')).warnings).toEqual([
      w('ExposeInvalidFormat', found('1.2.3.4::80'), 2),
      w('ExposeInvalidFormat', found(':8080:81'), 2),
    ]);
  });

  it('an instruction before the first FROM stops the checks where BuildKit stops parsing', async () => {
    const r = await check('RUN true\nMAINTAINER me\nFROM scratch\n');
    expect(r.error?.message).toMatch(/no build stage in current context/);
    expect(r.warnings).toEqual([]);
    // The instruction that stops it is linted first, as BuildKit lints before it finds no stage.
    const r2 = await check('MAINTAINER me\nMAINTAINER you\nFROM scratch\n');
    expect(r2.warnings).toEqual([
      w('MaintainerDeprecated', 'Maintainer instruction is deprecated in favor of using label', 1),
    ]);
  });
});
