// Bundles the CLI into one file (dist/tsbuild.mjs): Node loads one module instead of ~250, which is most
// of a cached build's time on a slow disk. koffi stays external (it loads a native library).
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/cli/main.js'],
  outfile: 'dist/tsbuild.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['koffi'],
  banner: {
    js: "import { createRequire as __tsbuildRequire } from 'node:module';\nconst require = __tsbuildRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
