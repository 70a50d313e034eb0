// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The layer table of docs/architecture.md, enforced: each folder lists the folders of ours it must not
 * import. cli/ reaches the engine through internal.ts (the public API of index.ts plus the internals the CLI
 * needs), daemon/ through engine/index.ts; engine/ and the top-level files are not in the table yet (issue 11).
 */
const folders = [
  'core',
  'fsutil',
  'parser',
  'llb',
  'frontend',
  'solver',
  'snapshotter',
  'executor',
  'worker',
  'image',
  'runner',
  'cli',
  'daemon',
];
/** fsutil/ (one Clean, one Match, one securejoin) is a leaf every layer may import. */
const mayImport = {
  core: [],
  fsutil: ['core'],
  parser: ['fsutil', 'core'],
  llb: ['fsutil', 'core'],
  frontend: ['parser', 'llb', 'fsutil', 'core'],
  solver: ['fsutil', 'core'],
  snapshotter: ['fsutil', 'core'],
  executor: ['fsutil', 'core'],
  worker: ['solver', 'llb', 'snapshotter', 'executor', 'image', 'fsutil', 'core'],
  image: ['snapshotter', 'fsutil', 'core'],
  runner: ['snapshotter', 'executor', 'image', 'fsutil', 'core'],
  cli: ['fsutil', 'core'],
  daemon: ['fsutil', 'core'],
};

const layerRules = Object.entries(mayImport).map(([folder, allowed]) => ({
  files: [`${folder}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: folders
          .filter((f) => f !== folder && !allowed.includes(f))
          .map((f) => ({
            group: [`**/${f}/**`, `../${f}`, `../../${f}`],
            message: `${folder}/ may not import ${f}/ (see docs/architecture.md, "Layers")`,
          })),
      },
    ],
  },
}));

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'parser/grammar.ts', 'coverage/**', 'test/tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        {
          selector:
            'ImportDeclaration[source.value=/^(fs|path|os|child_process|crypto|zlib|http|https|url|util|stream|events)$/]',
          message: 'use the node: prefix',
        },
      ],
    },
  },
  ...layerRules,
);
