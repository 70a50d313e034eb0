/**
 * The e2e Dockerfile suite: every directory under test/e2e/cases/ (a Dockerfile, its context and a
 * case.json, see case-format.ts) is built with `build()` on real runc and overlayfs in one engine, and
 * the committed image is checked: files through a read-only view of its snapshot, the config and
 * history from the image store. Cases marked `knownFailure` are tsbuild bugs outside the frontend: they
 * run as expected failures with the reason printed. bench/compat builds the same cases with BuildKit.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TsbuildError, formatError } from '../../core/index.js';
import { build, importRootfs, openEngine, withSnapshotDir } from '../../engine/index.js';
import type { Engine } from '../../engine/index.js';
import { makeBusyboxRootfs } from '../helpers/engine.js';
import { canRunSuite } from '../helpers/prereq.js';
import { repoRoot } from '../helpers/shared.js';
import type { E2eCase } from './case-format.js';
import { checkFile, exists, filesContaining, historyDiff, partialDiff, readCases } from './case-format.js';
import { optionsOf, prepareContext, requestOf } from './case-build.js';
import { hasGit, startFakeAgent, startGitDaemon, startHttp } from './servers.js';

const canRun = canRunSuite('e2e Dockerfile suite', { root: true, runc: true, overlay: true });

/** `E2E_ONLY=a,b` runs only those cases (to debug one). */
const only = process.env.E2E_ONLY?.split(',').filter((n) => n !== '');
const cases = readCases(join(repoRoot, 'test', 'e2e', 'cases')).filter(
  (c) => only === undefined || only.includes(c.name),
);
let work = '';
let engine: Engine;
const vars: Record<string, string> = {};
const closers: (() => Promise<void> | void)[] = [];
let agentSocket = '';

async function checkFailure(c: E2eCase, run: Promise<unknown>): Promise<void> {
  const want = c.spec.expect.error;
  if (!want) return;
  const err = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `${c.name}: the build should fail`).toBeInstanceOf(Error);
  expect(err, `${c.name}: errors are TsbuildErrors`).toBeInstanceOf(TsbuildError);
  const e = err as TsbuildError;
  expect(e.message).toMatch(new RegExp(want.message, 'i'));
  if (want.line !== undefined) {
    expect(e.location?.file, `${c.name}: located in the Dockerfile`).toBe('Dockerfile');
    expect(e.location?.range.start.line).toBe(want.line);
  }
  if (want.column !== undefined) expect(e.location?.range.start.column).toBe(want.column);
  if (want.line !== undefined) {
    // What the CLI prints starts with `Dockerfile:<line>:<col>:`.
    const where = `Dockerfile:${want.line}:${want.column ?? ''}`;
    expect(formatError(e).split('\n')[0]).toContain(where);
  }
}

async function checkImage(c: E2eCase, snapshot: string | undefined): Promise<string[]> {
  const want = c.spec.expect;
  const image = await engine.images.resolve(`e2e-${c.name}`);
  const doc = image.config as unknown as Record<string, unknown> & {
    config?: unknown;
    history?: { created?: string; created_by?: string; empty_layer?: boolean }[];
  };
  const problems: string[] = [];
  if (want.config) problems.push(...partialDiff(doc.config ?? {}, want.config, 'config'));
  if (want.image) problems.push(...partialDiff(doc, want.image, 'image'));
  if (want.history) problems.push(...historyDiff(doc.history ?? [], want.history));
  if (want.historyCreated !== undefined) {
    for (const h of doc.history ?? []) {
      if (h.created !== want.historyCreated)
        problems.push(
          `history ${JSON.stringify(h.created_by)}: created ${h.created}, want ${want.historyCreated}`,
        );
    }
  }
  const needles = want.nowhere ?? [];
  const configText = JSON.stringify(doc);
  for (const n of needles) if (configText.includes(n)) problems.push(`the image config contains ${n}`);
  const files = Object.entries(want.files ?? {});
  if (files.length === 0 && (want.absent ?? []).length === 0 && needles.length === 0) return problems;
  if (snapshot === undefined) {
    for (const [path] of files) problems.push(`${path}: missing (the image has no filesystem)`);
    return problems;
  }
  await withSnapshotDir(engine, snapshot, async (root) => {
    for (const [path, w] of files) problems.push(...checkFile(root, path, w));
    for (const path of want.absent ?? [])
      if (exists(root, path)) problems.push(`${path}: present, want absent`);
    if (needles.length > 0) {
      for (const path of filesContaining(root, needles)) problems.push(`${path}: contains a secret`);
    }
  });
  return problems;
}

async function runCase(c: E2eCase): Promise<void> {
  const context = prepareContext(c, join(work, 'ctx', c.name));
  const run = build(engine, requestOf(c, context, vars, agentSocket), optionsOf(c));
  if (c.spec.expect.error) return checkFailure(c, run);
  const result = await run;
  const problems = await checkImage(c, result.snapshot);
  expect(problems, `${c.name}: ${c.spec.description}`).toEqual([]);
}

describe.skipIf(!canRun)('e2e Dockerfiles', () => {
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'tsbuild-e2e-'));
    makeBusyboxRootfs(join(work, 'rootfs'));
    engine = await openEngine({ root: join(work, 'root') });
    await importRootfs(engine, join(work, 'rootfs'), 'busybox:latest');
    const http = await startHttp();
    closers.push(http.close);
    vars.httpPort = String(http.port);
    if (hasGit) {
      const git = await startGitDaemon(join(work, 'git'));
      closers.push(git.close);
      vars.gitPort = String(git.port);
    } else console.warn('e2e: git is missing, the ADD <git url> cases will fail');
    mkdirSync(join(work, 'agent'));
    agentSocket = join(work, 'agent', 'agent.sock');
    const agent: NetServer = await startFakeAgent(agentSocket);
    closers.push(() => new Promise<void>((done) => agent.close(() => done())));
  }, 60_000);

  afterAll(async () => {
    await engine?.close();
    for (const close of closers) await close();
    if (work !== '') rmSync(work, { recursive: true, force: true });
  });

  it.skipIf(only !== undefined)('has at least 40 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  for (const c of cases) {
    if (c.spec.knownFailure) {
      console.warn(`e2e ${c.name}: known failure: ${c.spec.knownFailure}`);
      const run = (): Promise<void> =>
        runCase(c).catch((err: unknown) => {
          // Shown so that a reader can tell the case still fails for the reason given.
          console.warn(`e2e ${c.name}: fails as known: ${(err as Error).message.split('\n')[0]}`);
          throw err;
        });
      it.fails(`${c.name} (known failure: ${c.spec.knownFailure})`, run, 30_000);
    } else {
      it(`${c.name}: ${c.spec.description}`, () => runCase(c), 30_000);
    }
  }
});
