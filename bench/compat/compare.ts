/** One case: build with both builders, compare the trees and the configs, decide the verdict. */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Infra } from '../peers/infra.js';
import { CommandError } from '../peers/proc.js';
import { buildWithBuildkit, buildWithTsbuild } from './builders.js';
import type { SideResult } from './builders.js';
import { prepareContext, skipReason } from './cases.js';
import type { Case } from './cases.js';
import { compareConfigs } from './config.js';
import type { HistoryItem } from './config.js';
import { compareTrees, readTree } from './tree.js';

export interface CompareContext {
  readonly infra: Infra;
  readonly signal: AbortSignal;
  /** Case name → reason, from docs/compat.md. */
  readonly known: ReadonlyMap<string, string>;
  /** Undefined when tsbuild cannot build yet (`tsbuildMissing` says why). */
  readonly tsbuildRoot: string | undefined;
  readonly tsbuildMissing: string | undefined;
  readonly buildkitBase: readonly HistoryItem[];
  readonly tsbuildBase: readonly HistoryItem[];
  /** Per-case time limit. */
  readonly caseTimeoutMs?: number;
}

export interface CaseOutcome {
  readonly name: string;
  readonly status: 'same' | 'known' | 'differs' | 'skipped' | 'error';
  readonly reason?: string;
  readonly details: string[];
}

type Attempt = { ok: true; value: SideResult } | { ok: false; error: string };

async function attempt(f: () => Promise<SideResult>): Promise<Attempt> {
  try {
    return { ok: true, value: await f() };
  } catch (err) {
    if (err instanceof CommandError) {
      // the command line is long and the progress lines say little: the exit status and the last lines
      const last = err.tail
        .split('\n')
        .filter((l) => l.trim() !== '')
        .slice(-4);
      return {
        ok: false,
        error: [`exit ${err.status ?? 'signal'}:`, ...last.map((l) => `  ${l}`)].join('\n'),
      };
    }
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

function indent(text: string, lines = 12): string[] {
  return text.split('\n').slice(0, lines);
}

async function differences(
  ctx: CompareContext,
  bk: SideResult,
  ts: SideResult,
  signal: AbortSignal,
): Promise<string[]> {
  const [left, right] = await Promise.all([readTree(bk.tar, { signal }), readTree(ts.tar, { signal })]);
  const details = compareTrees(left, right).map((d) =>
    d.field === 'missing' || d.field === 'extra'
      ? `fs ${d.path}: ${d.field === 'missing' ? 'only in BuildKit' : 'only in tsbuild'} (${d.field === 'missing' ? d.left : d.right})`
      : `fs ${d.path}: ${d.field} BuildKit ${d.left} / tsbuild ${d.right}`,
  );
  const config = compareConfigs(bk.image, ts.image, {
    leftBase: ctx.buildkitBase,
    rightBase: ctx.tsbuildBase,
  });
  for (const d of config) details.push(`config ${d.field}: BuildKit ${d.left} / tsbuild ${d.right}`);
  return details;
}

export async function compareCase(ctx: CompareContext, testCase: Case): Promise<CaseOutcome> {
  const name = testCase.name;
  const skip = skipReason(testCase);
  if (skip !== undefined) return { name, status: 'skipped', reason: skip, details: [] };
  if (ctx.signal.aborted) return { name, status: 'error', reason: 'interrupted', details: [] };
  const out = join(ctx.infra.scratch, 'cases', name);
  mkdirSync(out, { recursive: true });
  const context = prepareContext(testCase, join(out, 'context'));
  const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(ctx.caseTimeoutMs ?? 600_000)]);
  try {
    const bk = await attempt(() => buildWithBuildkit({ infra: ctx.infra, testCase, context, out, signal }));
    if (ctx.tsbuildRoot === undefined) {
      const side = bk.ok ? 'BuildKit built it' : `BuildKit failed too:`;
      return {
        name,
        status: 'error',
        reason: ctx.tsbuildMissing ?? 'tsbuild unavailable',
        details: [side, ...(bk.ok ? [] : indent(bk.error))],
      };
    }
    const root = ctx.tsbuildRoot;
    const ts = await attempt(() =>
      buildWithTsbuild({ infra: ctx.infra, testCase, context, out, signal, root }),
    );
    const knownReason = ctx.known.get(name);
    const verdict = (details: string[], reason?: string): CaseOutcome => {
      if (details.length === 0) return { name, status: 'same', ...(reason ? { reason } : {}), details };
      if (knownReason !== undefined) return { name, status: 'known', reason: knownReason, details };
      return { name, status: 'differs', ...(reason ? { reason } : {}), details };
    };
    if (!bk.ok && !ts.ok) {
      return {
        name,
        status: 'same',
        reason: 'both builders fail',
        details: ['BuildKit:', ...indent(bk.error, 5), 'tsbuild:', ...indent(ts.error, 5)],
      };
    }
    if (!bk.ok)
      return verdict(['BuildKit failed, tsbuild built it:', ...indent(bk.error)], 'only BuildKit fails');
    if (!ts.ok)
      return verdict(['tsbuild failed, BuildKit built it:', ...indent(ts.error)], 'only tsbuild fails');
    return verdict(await differences(ctx, bk.value, ts.value, signal));
  } finally {
    if (!ctx.infra.options.keep) rmSync(out, { recursive: true, force: true });
  }
}
