// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The layer table of docs/architecture.md, enforced: each folder lists the folders of ours it may import,
 * and it imports them only through their face, `<folder>/index.ts`. The root's index.ts (the public API)
 * is held to the faces too. test/ and bench/ may import anything.
 */
export const mayImport = {
  core: [],
  oci: ['core'],
  fsutil: ['core'],
  /** The one HTTP stack, for the registry client (image/) and the http source (worker/). */
  http: ['core'],
  patternmatcher: ['fsutil', 'core'],
  content: ['oci', 'core'],
  mount: ['core'],
  diff: ['content', 'mount', 'oci', 'fsutil', 'core'],
  snapshotter: ['mount', 'core'],
  gc: ['snapshotter', 'content', 'oci', 'core'],
  parser: ['core'],
  llb: ['oci', 'core'],
  frontend: ['parser', 'llb', 'patternmatcher', 'oci', 'fsutil', 'core'],
  solver: ['core'],
  executor: ['fsutil', 'core'],
  image: ['snapshotter', 'content', 'diff', 'mount', 'http', 'oci', 'fsutil', 'core'],
  worker: [
    'solver',
    'llb',
    'snapshotter',
    'content',
    'diff',
    'mount',
    'executor',
    'image',
    'http',
    'patternmatcher',
    'oci',
    'fsutil',
    'core',
  ],
  /** Container networks: bridges, veths, namespaces, NAT, hosts files, published ports. */
  network: ['executor', 'fsutil', 'core'],
  runner: ['network', 'snapshotter', 'mount', 'executor', 'image', 'oci', 'fsutil', 'core'],
  /** Remote build caches: export and import of the solver's records with their layers. */
  remotecache: ['worker', 'solver', 'image', 'snapshotter', 'content', 'oci', 'core'],
  engine: [
    'remotecache',
    'frontend',
    'parser',
    'llb',
    'solver',
    'worker',
    'runner',
    'network',
    'image',
    'executor',
    'snapshotter',
    'gc',
    'diff',
    'content',
    'mount',
    'http',
    'patternmatcher',
    'oci',
    'fsutil',
    'core',
  ],
  daemon: ['engine', 'core'],
  cli: ['engine', 'daemon', 'frontend', 'parser', 'llb', 'runner', 'network', 'oci', 'fsutil', 'core'],
};
const folders = Object.keys(mayImport);
const everything = [...folders];

/** The import patterns that break the rule for code in `folder` ('' for the root files). */
function restrictions(folder, allowed) {
  const root =
    folder === ''
      ? []
      : [
          {
            group: ['../index.js', '../../index.js', '../../../index.js'],
            message: 'the root index.ts is the API over the folders: no folder imports it',
          },
        ];
  return root.concat(
    folders
      .filter((f) => f !== folder)
      .map((f) =>
        allowed.includes(f)
          ? {
              group: [`**/${f}/**`, `!**/${f}/index.js`, `!./${f}/index.js`],
              message: `import ${f}/ only through its face, ${f}/index.ts (see docs/architecture.md, "Layers")`,
            }
          : {
              group: [`**/${f}/**`, `./${f}/**`, `../${f}`, `../../${f}`],
              message: `${folder || 'the root'}/ may not import ${f}/ (see docs/architecture.md, "Layers")`,
            },
      ),
  );
}

const layerRules = [
  ...Object.entries(mayImport).map(([folder, allowed]) => ({
    files: [`${folder}/**/*.ts`],
    rules: { 'no-restricted-imports': ['error', { patterns: restrictions(folder, allowed) }] },
  })),
  {
    files: ['*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: restrictions('', everything) }] },
  },
];

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
