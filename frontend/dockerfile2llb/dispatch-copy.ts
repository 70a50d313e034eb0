/**
 * COPY and ADD: sources from the context, another stage, an image, heredocs, and for ADD also HTTP(S)
 * URLs (never unpacked) and git repositories; local archives are unpacked by ADD. `--link` copies onto
 * an empty filesystem and merges it over the stage, so the layer does not depend on what is below it.
 */
import { posix } from 'node:path';
import { DockerfileError } from '../../core/index.js';
import { replaceEscapes } from '../../core/index.js';
import * as llb from '../../llb/index.js';
import type { FileChain, State } from '../../llb/index.js';
import { ShellLex } from '../../parser/index.js';
import { parseChmod, remoteKind } from '../instructions/index.js';
import type { AddInstruction, CopyInstruction } from '../instructions/index.js';
import type { Dispatcher } from './dispatcher.js';
import { parseChown } from './dispatch-env.js';
import { commitToHistory } from './image.js';
import type { StageState } from './stage-state.js';

type CopyLike = CopyInstruction | AddInstruction;

/** `dest` against the working directory, keeping a trailing slash (it says "into this directory"). */
export function destPath(cwd: string, dest: string): string {
  const p = dest === '' || dest === '.' ? './' : dest;
  const joined = posix.resolve('/', cwd, p);
  return p.endsWith('/') || p.endsWith('/.') ? `${joined.replace(/\/$/, '')}/` : joined;
}

/** `https://host/repo.git#ref:subdir` → remote, ref and subdir. */
export function parseGitRef(src: string): { remote: string; ref?: string; subdir?: string } {
  const hash = src.indexOf('#');
  if (hash < 0) return { remote: src };
  const fragment = src.slice(hash + 1);
  const [ref = '', subdir = ''] = fragment.split(':', 2);
  if (subdir.split('/').includes('..'))
    throw new DockerfileError(`invalid git subdir ${JSON.stringify(subdir)}`);
  return { remote: src.slice(0, hash), ...(ref ? { ref } : {}), ...(subdir ? { subdir } : {}) };
}

interface CopyParams {
  readonly sources: string[];
  readonly dest: string;
  readonly chown?: string;
  readonly chmod?: number | string;
  readonly chmodRaw?: string;
  readonly checksum?: string;
}

function expandParams(d: StageState, c: CopyLike): CopyParams {
  const env = d.env();
  const word = (w: string): string => d.lex.processWord(w, env);
  const chmodRaw = c.chmod ? word(c.chmod.raw) : undefined;
  let chmod: number | string | undefined;
  if (chmodRaw) {
    const spec = parseChmod(chmodRaw);
    chmod = spec.mode ?? spec.raw;
  }
  const checksum = c.kind === 'add' && c.checksum ? word(c.checksum) : undefined;
  return {
    sources: c.sources.map(word),
    dest: word(c.dest),
    ...(c.chown ? { chown: word(c.chown) } : {}),
    ...(chmod !== undefined ? { chmod, chmodRaw } : {}),
    ...(checksum ? { checksum } : {}),
  };
}

async function sourceState(dx: Dispatcher, c: CopyLike): Promise<State | undefined> {
  if (c.kind !== 'copy' || c.from === undefined || c.from === '') return undefined;
  const stage = await dx.stageByRef(c.from);
  if (stage) return stage.state;
  return dx.imageState(c.from);
}

function remoteSource(
  c: CopyLike,
  p: CopyParams,
  src: string,
  kind: 'http' | 'git',
  metadata: llb.OpMetadata,
): { state: State; path: string } {
  if (c.kind !== 'add')
    throw new DockerfileError(`source can't be a ${kind === 'git' ? 'git ref' : 'URL'} for COPY`);
  if (kind === 'git') {
    const ref = parseGitRef(src);
    const attrs: Record<string, string> = {};
    if (ref.ref) attrs.ref = ref.ref;
    if (ref.subdir) attrs.subdir = ref.subdir;
    if (c.keepGitDir) attrs.keepGitDir = 'true';
    if (p.checksum) attrs.checksum = p.checksum;
    return { state: llb.remote(`git:${ref.remote}`, attrs, metadata), path: '/' };
  }
  let filename = '__unnamed__';
  try {
    const base = posix.basename(new URL(src).pathname);
    if (base !== '' && base !== '.' && base !== '/') filename = base;
  } catch {
    throw new DockerfileError(`invalid URL ${JSON.stringify(src)}`);
  }
  const attrs: Record<string, string> = { filename };
  if (p.checksum) attrs.checksum = p.checksum;
  return { state: llb.remote(`http:${src}`, attrs, metadata), path: `/${filename}` };
}

function addLocal(
  chain: FileChain,
  from: State,
  src: string,
  dest: string,
  options: { c: CopyLike; common: llb.CopyOptions },
): FileChain {
  const { c, common } = options;
  let path = src;
  let include: string[] = [];
  const parents = c.kind === 'copy' && c.parents;
  if (parents) {
    const pivot = src.indexOf('/./');
    const pattern = pivot < 0 ? src : src.slice(pivot + 3);
    path = pivot < 0 ? '/' : src.slice(0, pivot);
    include = [posix.join('/', pattern).replace(/^\/+/, '')];
  }
  const unpack = c.kind === 'add' ? (c.unpack ?? true) : false;
  return chain.copy(from, posix.join('/', path), dest, {
    ...common,
    followSymlinks: true,
    copyDirContents: true,
    wildcards: true,
    allowEmptyWildcard: true,
    ...(include.length > 0 ? { include } : {}),
    ...(unpack ? { attemptUnpack: true } : {}),
  });
}

/** `https://user:pass@host/x` → `https://***@host/x`. */
export function redactUserinfo(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1***@');
}

export async function dispatchCopy(dx: Dispatcher, d: StageState, c: CopyLike): Promise<void> {
  const p = expandParams(d, c);
  if (p.checksum && (c.kind !== 'add' || p.sources.length !== 1 || !remoteKind(p.sources[0] ?? ''))) {
    throw new DockerfileError('checksum requires exactly one HTTP(S) or Git source');
  }
  const dest = destPath(d.state.cwd, p.dest);
  const chown = p.chown ? parseChown(p.chown) : undefined;
  const common: llb.CopyOptions = {
    ...(chown ? { chown } : {}),
    ...(p.chmod !== undefined ? { chmod: p.chmod } : {}),
    ...(c.exclude.length > 0 ? { exclude: [...c.exclude] } : {}),
    createDestPath: true,
  };
  const from = await sourceState(dx, c);
  let chain = new llb.FileChain([]);
  for (const src of p.sources) {
    const kind = from ? undefined : remoteKind(src);
    if (kind) {
      // The download fails at this ADD (a checksum mismatch, a 404): the source carries its location.
      const remote = remoteSource(c, p, src, kind, {
        // Credentials in a URL stay out of progress and logs.
        description: { 'llb.customname': `${c.kind === 'add' ? 'ADD' : 'COPY'} ${redactUserinfo(src)}` },
        location: { file: dx.instructionContext.file, range: c.range },
      });
      chain = chain.copy(remote.state, remote.path, dest, { ...common, copyDirContents: kind === 'git' });
      continue;
    }
    if (!from) dx.contextPaths.add(posix.join('/', src));
    chain = addLocal(chain, from ?? dx.context, src, dest, { c, common });
  }
  const raw = new ShellLex({ escapeToken: d.escapeToken, skipProcessQuotes: true });
  for (const content of c.sourceContents) {
    // A quoted heredoc is written with its bytes as they are, even those that are not UTF-8 (escaped
    // in `data`, see core/utf8.ts); an expanded one went through BuildKit's shell lexer, which makes
    // each of them U+FFFD.
    const data = content.expand ? raw.processWord(replaceEscapes(content.data), d.env()) : content.data;
    const file = posix.join('/', content.path);
    const doc = llb.scratch().file(llb.mkfile(file, 0o644, data), {
      description: { 'llb.customname': '[internal] preparing inline document' },
    });
    chain = chain.copy(doc, file, dest, common);
  }
  const name = dx.stepName(d, c);
  const metadata = {
    description: { 'llb.customname': name },
    location: { file: dx.instructionContext.file, range: c.range },
    ...(d.ignoreCache ? { ignoreCache: true } : {}),
  };
  if (c.link && p.chmod === undefined) {
    const layer = llb.scratch().file(chain, metadata);
    d.state = llb.merge([d.state, layer], { description: { 'llb.customname': `${name} (link)` } });
    // merge keeps the first state's values only when it has one; keep env/cwd/user explicitly.
  } else {
    d.state = d.state.file(chain, metadata);
  }
  const flags = [
    ...(c.kind === 'copy' && c.parents ? ['--parents'] : []),
    ...(p.chown ? [`--chown=${p.chown}`] : []),
    ...(p.chmodRaw ? [`--chmod=${p.chmodRaw}`] : []),
  ];
  const words = [...flags, ...p.sources, ...c.sourceContents.map((s) => `<<${s.path}`), p.dest];
  commitToHistory(d.image, `${c.kind === 'add' ? 'ADD' : 'COPY'} ${words.join(' ')}`, true);
}
