/**
 * Issue 12, acceptance 3: two fresh roots build every eligible e2e case with SOURCE_DATE_EPOCH=0 and
 * `-o type=oci,rewrite-timestamp=true` and get identical manifest digests. The roots differ in time:
 * the second builds later, from context copies whose every file has another mtime (2030-01-01), so
 * only the epoch can make the layers equal. Both import busybox from the same directory (the same base
 * image, as two machines pulling one tag get). Archives are uncompressed: gzip's own determinism is the
 * blob tests' business.
 *
 * Eligible (the rule, printed): a case that builds (no expected error, no known failure), needs none of
 * the e2e suite's servers (no `{{…}}` build arg, no ssh) and has no time-dependent RUN (none that runs
 * date, sleep, uptime, mktemp, or reads $RANDOM or /dev/[u]random).
 */
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync } from 'node:fs';
import { lutimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build, importRootfs, openEngine } from '../../engine/index.js';
import { makeBusyboxRootfs } from '../helpers/engine.js';
import { canRunSuite } from '../helpers/prereq.js';
import { repoRoot } from '../helpers/shared.js';
import { optionsOf, prepareContext, requestOf } from './case-build.js';
import type { E2eCase } from './case-format.js';
import { readCases } from './case-format.js';

const canRun = canRunSuite('reproducible e2e builds', { root: true, runc: true, overlay: true });

const TIME_DEPENDENT = /\b(date|sleep|uptime|mktemp)\b|\$RANDOM|\$\{RANDOM\}|\/dev\/u?random/;

/** Why a case is not built here, or undefined when it is. */
function exclusion(c: E2eCase): string | undefined {
  if (c.spec.expect.error) return 'fails by design';
  if (c.spec.knownFailure) return 'known failure';
  if (Object.values(c.spec.buildArgs ?? {}).some((v) => v.includes('{{'))) return "needs the suite's servers";
  if (c.spec.ssh) return "needs the suite's ssh agent";
  const runs = readFileSync(join(c.dir, 'Dockerfile'), 'latin1')
    .split('\n')
    .filter((l) => /^\s*run\b/i.test(l));
  if (runs.some((l) => TIME_DEPENDENT.test(l))) return 'time-dependent RUN';
  return undefined;
}

const all = readCases(join(repoRoot, 'test', 'e2e', 'cases'));
const cases = all.filter((c) => exclusion(c) === undefined);
const EPOCH = '0';
/** The second root's context mtimes: 2030-01-01T00:00:00Z. */
const OTHER_MTIME = 1_893_456_000;

let work = '';

/** Sets the mtime (and atime) of everything under `dir`, symlinks themselves included. */
function retime(dir: string, seconds: number): void {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const info = lstatSync(path);
    if (info.isDirectory()) retime(path, seconds);
    if (info.isSymbolicLink()) lutimesSync(path, seconds, seconds);
    else utimesSync(path, seconds, seconds);
  }
  utimesSync(dir, seconds, seconds);
}

/** Builds every case in a fresh root; the manifest digest of each OCI archive, by case. */
async function buildAll(name: string, mtime?: number): Promise<Map<string, string>> {
  const engine = await openEngine({ root: join(work, name, 'root') });
  const digests = new Map<string, string>();
  try {
    await importRootfs(engine, join(work, 'rootfs'), 'busybox:latest');
    for (const c of cases) {
      const context = prepareContext(c, join(work, name, 'ctx', c.name));
      if (mtime !== undefined) retime(context, mtime);
      const request = requestOf(c, context, {});
      const result = await build(
        engine,
        {
          ...request,
          buildArgs: { ...request.buildArgs, SOURCE_DATE_EPOCH: EPOCH },
          output: {
            type: 'oci',
            dest: join(work, name, `${c.name}.tar`),
            compression: 'uncompressed',
            rewriteTimestamp: true,
          },
        },
        optionsOf(c),
      );
      digests.set(c.name, result.manifestDigest ?? '');
    }
  } finally {
    await engine.close();
  }
  return digests;
}

describe.skipIf(!canRun)('reproducible images (SOURCE_DATE_EPOCH=0, rewrite-timestamp=true)', () => {
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'tsbuild-repro-'));
    makeBusyboxRootfs(join(work, 'rootfs'));
    mkdirSync(join(work, 'a'));
    mkdirSync(join(work, 'b'));
    const excluded = all.flatMap((c) => {
      const why = exclusion(c);
      return why === undefined ? [] : [`${c.name} (${why})`];
    });
    console.log(`reproducible: ${cases.length} cases built: ${cases.map((c) => c.name).join(', ')}`);
    console.log(`reproducible: excluded: ${excluded.join(', ')}`);
  }, 60_000);

  // Two roots of snapshots: removing them can take more than the default 10 s on a busy machine.
  afterAll(() => {
    if (work !== '') rmSync(work, { recursive: true, force: true });
  }, 60_000);

  it('two fresh roots, at different times and context mtimes, give the same manifest digests', async () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
    const started = Date.now();
    const first = await buildAll('a');
    const second = await buildAll('b', OTHER_MTIME);
    console.log(`reproducible: ${cases.length} cases in two roots: ${Date.now() - started} ms`);
    const differ = cases.filter((c) => first.get(c.name) !== second.get(c.name)).map((c) => c.name);
    expect(differ).toEqual([]);
    for (const digest of first.values()) expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  }, 300_000);
});
