/**
 * `make compat`: every case under test/e2e/cases/ built by BuildKit (dockerd 20.10) and by tsbuild,
 * then the filesystems (from `type=tar` exports) and the image configs compared.
 *
 *   node dist/bench/compat/main.js [--cases test/e2e/cases] [--only a,b] [--known docs/compat.md] [--keep]
 *
 * Both builders see `FROM busybox` as the same busybox-static rootfs: dockerd has it as busybox:latest
 * (pulled from the private registry and tagged; its BuildKit resolves the local tag and never asks
 * Docker Hub), tsbuild has it imported with `tsbuild image import`. The registry copy is made with an
 * empty config, like tsbuild's import, so that neither base adds Env or Cmd the other lacks; each
 * side's base history is removed before the histories are compared.
 *
 * Exits 1 when a case differs and docs/compat.md does not list it, or when a side fails alone.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  Infra,
  REPO,
  TSBUILD_MAIN,
  abortOnSignals,
  requireTools,
  tsbuildBuildAvailable,
} from '../peers/infra.js';
import { run } from '../peers/proc.js';
import { baseHistories } from './builders.js';
import { findCases, readKnownDifferences } from './cases.js';
import { compareCase } from './compare.js';
import type { CaseOutcome, CompareContext } from './compare.js';

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: join(REPO, 'test/e2e/cases') },
    only: { type: 'string' },
    known: { type: 'string', default: join(REPO, 'docs/compat.md') },
    keep: { type: 'boolean', default: process.env.PEERS_KEEP === '1' },
    'max-lines': { type: 'string', default: '40' },
  },
});

function note(line: string): void {
  console.error(line);
}

function printOutcome(o: CaseOutcome, maxLines: number): void {
  const head = {
    same: 'same',
    known: 'known difference',
    differs: 'DIFFERS',
    skipped: 'skipped',
    error: 'ERROR',
  }[o.status];
  console.log(
    `${o.status === 'same' || o.status === 'skipped' || o.status === 'known' ? 'ok  ' : 'FAIL'} ${o.name}: ${head}${o.reason ? ` (${o.reason})` : ''}`,
  );
  const lines = o.details.slice(0, maxLines);
  for (const line of lines) console.log(`       ${line}`);
  if (o.details.length > lines.length) console.log(`       … ${o.details.length - lines.length} more`);
}

async function prepareTsbuild(
  infra: Infra,
  signal: AbortSignal,
): Promise<{ root?: string; missing?: string }> {
  const missing = await tsbuildBuildAvailable(signal);
  const root = join(infra.scratch, 'tsbuild-root');
  mkdirSync(root, { recursive: true });
  await run(
    [
      TSBUILD_MAIN,
      '--root',
      root,
      'image',
      'import',
      '-m',
      'busybox-static',
      infra.baseRootfs,
      'busybox:latest',
    ],
    {
      signal,
    },
  );
  return missing === undefined ? { root } : { root, missing };
}

async function main(): Promise<number> {
  requireTools(['dockerd', '/usr/bin/docker', 'skopeo', 'docker-registry', 'umoci']);
  const only = values.only === undefined ? undefined : new Set(values.only.split(','));
  const cases = findCases(values.cases, only);
  if (cases.length === 0) {
    note(`no cases under ${values.cases} (directories with a Dockerfile)`);
    return 1;
  }
  const known = readKnownDifferences(values.known);
  const controller = new AbortController();
  const detach = abortOnSignals(controller);
  const signal = controller.signal;
  let infra: Infra | undefined;
  try {
    infra = await Infra.open({ baseConfig: 'empty', signal, keep: values.keep, log: note });
    await infra.startDockerd();
    await infra.docker(['tag', infra.baseRef, 'busybox:latest']);
    const ts = await prepareTsbuild(infra, signal);
    if (ts.missing !== undefined) note(`tsbuild: ${ts.missing}; building the BuildKit side only`);
    const bases = await baseHistories(infra, ts.missing === undefined ? ts.root : undefined, signal);
    const ctx: CompareContext = {
      infra,
      signal,
      known,
      tsbuildRoot: ts.missing === undefined ? ts.root : undefined,
      tsbuildMissing: ts.missing,
      buildkitBase: bases.buildkit.history,
      tsbuildBase: bases.tsbuild?.history ?? [],
    };
    const outcomes: CaseOutcome[] = [];
    const maxLines = Number(values['max-lines']);
    for (const testCase of cases) {
      const outcome = await compareCase(ctx, testCase);
      printOutcome(outcome, maxLines);
      outcomes.push(outcome);
    }
    const count = (s: CaseOutcome['status']): number => outcomes.filter((o) => o.status === s).length;
    console.log(
      `\n${outcomes.length} cases: ${count('same')} same, ${count('known')} known differences, ` +
        `${count('differs')} differ, ${count('error')} errors, ${count('skipped')} skipped`,
    );
    if (ts.missing !== undefined) console.log(`tsbuild: ${ts.missing}`);
    return count('differs') + count('error') > 0 ? 1 : 0;
  } catch (err) {
    if (signal.aborted) {
      note('interrupted');
      return 130;
    }
    throw err;
  } finally {
    await infra?.close();
    detach();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
