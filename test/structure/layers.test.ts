/**
 * The folder rules of docs/architecture.md: eslint.config.js's layer table (folders import only the
 * folders it lists, and only through their face, `<folder>/index.ts`) is shown to reject what it must,
 * and the source has no import cycle between files.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, test } from 'vitest';
import { cycles, importGraph, repoRoot } from './graph.js';

const eslint = new ESLint({ cwd: repoRoot });

async function restricted(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('the layer rule', () => {
  test('a folder may import an allowed folder through its face', async () => {
    expect(await restricted('worker/x.ts', "export { TreeCopier } from '../fsutil/index.js';\n")).toEqual([]);
    expect(
      await restricted('diff/x.ts', "export type { ContentStore } from '../content/index.js';\n"),
    ).toEqual([]);
  });

  test("reaching past a face into a folder's files is refused", async () => {
    const messages = await restricted('worker/x.ts', "export { TreeCopier } from '../fsutil/treecopy.js';\n");
    expect(messages).toEqual([
      expect.stringContaining('import fsutil/ only through its face, fsutil/index.ts'),
    ]);
    const root = await restricted('index.ts', "export { build } from './engine/build.js';\n");
    expect(root).toEqual([expect.stringContaining('import engine/ only through its face')]);
  });

  test('a folder outside the table row is refused, faces or not', async () => {
    expect(await restricted('cli/x.ts', "export { Solver } from '../solver/index.js';\n")).toEqual([
      expect.stringContaining('cli/ may not import solver/'),
    ]);
    expect(
      await restricted('content/x.ts', "export type { Snapshotter } from '../snapshotter/index.js';\n"),
    ).toEqual([expect.stringContaining('content/ may not import snapshotter/')]);
    expect(await restricted('daemon/x.ts', "export { createEngine } from '../index.js';\n")).toEqual([
      expect.stringContaining('no folder imports it'),
    ]);
  });
});

test('no import cycle between source files (type-only imports included)', () => {
  expect(cycles(importGraph())).toEqual([]);
});

test("docs/architecture.md's folder table is the lint rule's table", async () => {
  const config = pathToFileURL(join(repoRoot, 'eslint.config.js')).href;
  const { mayImport } = (await import(config)) as { mayImport: Record<string, string[]> };
  const doc = readFileSync(join(repoRoot, 'docs', 'architecture.md'), 'utf8');
  const section = doc.split('## Folders and who may import whom')[1]?.split('\n## ')[0] ?? '';
  const rows = section
    .split('\n')
    .filter((line) => /^\| [a-z]+\/ \|/.test(line))
    .map((line) => line.split(' | '));
  const documented = Object.fromEntries(
    rows.map((cells) => {
      const last = (cells.at(-1) ?? '').replace(/ \|$/, '');
      return [cells[0]!.slice(2, -1), last === 'nothing of ours' ? [] : last.split(', ')];
    }),
  );
  expect(documented).toEqual(mayImport);
});
