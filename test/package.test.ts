/**
 * What `npm pack` ships: the built engine (dist/, its bundles and the .d.ts files the exports need)
 * and the command (bin/); no tests, no benches, nothing compiled for this machine, and no install step
 * (libc is reached through koffi, which ships its own prebuilt binaries). Fast and offline: `npm pack --dry-run --ignore-scripts`
 * lists what the current dist/ would give (it needs `make build`).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, symlink, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, '..');
const built = existsSync(join(repo, 'dist/index.js')) && existsSync(join(repo, 'dist/tsbuild.cjs'));
if (!built) console.warn('dist/ is not built (make build): npm pack file list tests skipped');

interface PackageJson {
  readonly bin: Record<string, string>;
  readonly exports: Record<string, { types: string; default: string }>;
  readonly types: string;
  readonly dependencies: Record<string, string>;
  readonly devDependencies: Record<string, string>;
  readonly scripts: Record<string, string>;
}
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as PackageJson;

/** The bare module names a shipped file imports (node: built-ins left out); bundles only `require`. */
function bareImports(source: string, bundle: boolean): string[] {
  const names = new Set<string>();
  const required = [
    /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g,
    /createRequire\([^)]*\)\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  const imported = [
    /^(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]/gm,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of bundle ? required : [...required, ...imported]) {
    for (const match of source.matchAll(pattern)) {
      const spec = match[1]!;
      if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:')) continue;
      const parts = spec.split('/');
      names.add(spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!);
    }
  }
  return [...names];
}

describe.skipIf(!built)('npm pack', () => {
  let files: string[] = [];
  beforeAll(async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: repo,
      maxBuffer: 64 * 1024 * 1024,
    });
    files = (JSON.parse(stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
  }, 60_000);

  it('ships no tests, benches, sources or machine-specific files', () => {
    expect(files.length).toBeGreaterThan(0);
    const unwanted = files.filter(
      (f) =>
        f.startsWith('test/') ||
        f.startsWith('bench/') ||
        f.startsWith('dist/bench/') ||
        f.startsWith('dist/vitest.config') ||
        /\.test\.[cm]?[jt]s$/.test(f) ||
        (f.endsWith('.ts') && !f.endsWith('.d.ts')) ||
        f.endsWith('.cache') ||
        f.endsWith('.node') ||
        f.endsWith('.map'),
    );
    expect(unwanted).toEqual([]);
  });

  it('ships the command, its bundles and the exports with their types', () => {
    for (const target of Object.values(pkg.bin)) expect(files).toContain(target.replace(/^\.\//, ''));
    for (const bundle of ['dist/tsbuild.cjs', 'dist/tsbuild-main.cjs', 'dist/tsbuild-client.cjs']) {
      expect(files).toContain(bundle);
    }
    expect(pkg.types.replace(/^\.\//, '')).toBe(pkg.exports['.']!.types.replace(/^\.\//, ''));
    for (const entry of Object.values(pkg.exports)) {
      expect(files).toContain(entry.types.replace(/^\.\//, ''));
      expect(files).toContain(entry.default.replace(/^\.\//, ''));
    }
    // Every module the public entry point reaches has its declarations next to it.
    const missingTypes = files
      .filter((f) => f.startsWith('dist/') && f.endsWith('.js'))
      .filter((f) => !files.includes(f.replace(/\.js$/, '.d.ts')));
    expect(missingTypes).toEqual([]);
    expect(files.filter((f) => f.startsWith('native/') || f.startsWith('scripts/'))).toEqual([]);
    expect(pkg.scripts['install']).toBeUndefined();
    expect(pkg.scripts['prepack']).toBeDefined();
  });

  it('depends on every package the shipped code imports, and on no test-only one', () => {
    const imported = new Set<string>();
    for (const f of files.filter((p) => p.startsWith('dist/') && /\.[cm]?js$/.test(p))) {
      for (const name of bareImports(readFileSync(join(repo, f), 'utf8'), f.endsWith('.cjs')))
        imported.add(name);
    }
    const builtins = new Set(
      [
        'assert',
        'buffer',
        'child_process',
        'crypto',
        'events',
        'fs',
        'fs/promises',
        'http',
        'https',
        'module',
      ].concat([
        'net',
        'os',
        'path',
        'stream',
        'string_decoder',
        'tls',
        'url',
        'util',
        'vm',
        'worker_threads',
        'zlib',
      ]),
    );
    const missing = [...imported].filter((n) => !builtins.has(n) && pkg.dependencies[n] === undefined);
    expect(missing).toEqual([]);
    expect(imported.has('koffi')).toBe(true);
    // tar-stream reads layers only in tests and the compat bench (diff/ has its own codec).
    expect(pkg.dependencies['tar-stream']).toBeUndefined();
    expect(pkg.devDependencies['tar-stream']).toBeDefined();
  });
});

/**
 * A consumer's `import { createEngine } from 'tsbuild'` type-checks under node16 and bundler resolution: log
 * events carry bytes, the stores are not on the engine.
 */
describe.skipIf(!built)('the exported types', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-types-'));
    await mkdir(join(dir, 'node_modules/@types'), { recursive: true });
    await symlink(repo, join(dir, 'node_modules/tsbuild'));
    await symlink(join(repo, 'node_modules/@types/node'), join(dir, 'node_modules/@types/node'));
    await writeFile(join(dir, 'package.json'), '{"type":"module","private":true}\n');
    await writeFile(
      join(dir, 'main.ts'),
      [
        "import { createEngine, TsbuildError } from 'tsbuild';",
        "import type { BuildResult, EngineProgressEvent } from 'tsbuild';",
        'const engine = await createEngine({ root: process.argv[2] });',
        'const onProgress = (e: EngineProgressEvent): void => {',
        "  if (e.type === 'log') process.stdout.write(e.data satisfies Uint8Array);",
        '};',
        "const result: BuildResult = await engine.build({ context: '.' }, { onProgress });",
        'console.log(result, TsbuildError.name, (await engine.images.list()).length);',
        '// @ts-expect-error the stores are not part of the API',
        'console.log(engine.snapshotter);',
        'await engine.close();',
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  for (const [module, moduleResolution] of [
    ['node16', 'node16'],
    ['esnext', 'bundler'],
  ] as const) {
    it(`resolve under moduleResolution ${moduleResolution}`, async () => {
      const tsc = join(repo, 'node_modules/typescript/bin/tsc');
      const args = ['--noEmit', '--strict', '--target', 'es2022', '--types', 'node'];
      const result = await run(
        process.execPath,
        [tsc, ...args, '--module', module, '--moduleResolution', moduleResolution, 'main.ts'],
        { cwd: dir },
      ).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? String(err) }));
      expect(result.stdout).toBe('');
    }, 60_000);
  }
});
