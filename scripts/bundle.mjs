// Bundles the CLI into one CommonJS file (dist/tsbuild-main.cjs): Node loads one module instead of
// ~250, and a CommonJS script can be compiled through V8's code cache, which the launcher
// (cli/launch.ts, bundled as dist/tsbuild.cjs, the file bin/tsbuild runs) keeps next to it.
// koffi stays external (it loads a native library).
import { readFileSync, writeFileSync } from 'node:fs';
import { build as esbuild } from 'esbuild';

/**
 * esbuild escapes every non-ASCII character of strings, regular expressions and names (charset ascii),
 * but copies comments as they are: written as `\u{…}` there too, the bundle is plain ASCII, which the
 * launcher decodes as Latin-1 (0.4 ms for the full CLI instead of UTF-8's 7 ms, at every start-up).
 */
async function build(options) {
  await esbuild({ ...options, charset: 'ascii' });
  const text = readFileSync(options.outfile, 'utf8');
  const ascii = text.replace(/[^\0-\x7f]/gu, (c) => `\\u{${c.codePointAt(0).toString(16)}}`);
  if (ascii !== text) writeFileSync(options.outfile, ascii);
}

const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // ESM sources ask for import.meta.url; in the CommonJS bundle it is the bundle file's own URL.
  define: { 'import.meta.url': '__tsbuild_import_meta_url' },
  banner: { js: "const __tsbuild_import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
};

await build({
  ...common,
  entryPoints: ['dist/cli/main.js'],
  outfile: 'dist/tsbuild-main.cjs',
  external: ['koffi'],
});
// `tsbuild build` as a client of a running daemon: the CLI's build flags and renderers, no engine.
await build({
  ...common,
  entryPoints: ['dist/cli/client.js'],
  outfile: 'dist/tsbuild-client.cjs',
  external: ['koffi'],
});
await build({ ...common, entryPoints: ['dist/cli/launch.js'], outfile: 'dist/tsbuild.cjs' });
// The detached container supervisor (runner/supervisor-main.ts): started for every `run -d` and `start`.
await build({
  ...common,
  entryPoints: ['dist/runner/supervisor-main.js'],
  outfile: 'dist/tsbuild-supervisor.cjs',
  external: ['koffi'],
});
