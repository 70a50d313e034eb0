/** COPY and ADD: sources (paths, URLs, heredocs), destination and their flags. */
import { chompHeredocContent } from '../../parser/index.js';
import { BFlags } from './bflag.js';
import type { Flag } from './bflag.js';
import { parseChmod } from './chmod.js';
import { baseOf, hasVariable, heredocMarker, lexerFor, parseFlags } from './common.js';
import type { Scope } from './scope.js';
import type { AddInstruction, ChmodSpec, CopyInstruction, SourceContent, SourcesAndDest } from './types.js';

interface Sources extends SourcesAndDest {
  /** For each file source, the index of its argument. */
  readonly sourceArgs: readonly number[];
}

function errNoDestination(command: string): string {
  return `${command} requires at least two arguments, but only one was provided. Destination could not be determined`;
}

function sourcesAndDest(scope: Scope, command: string): Sources {
  const args = scope.node.args;
  const last = args.length - 1;
  const dest = args[last];
  if (dest === undefined) scope.fail(errNoDestination(command));
  if (heredocMarker(dest.value)) {
    scope.fail(`${command} cannot accept a heredoc as a destination`, dest.range);
  }
  const bodies = new Map(scope.node.heredocs.map((h) => [h.name, h.content]));
  const sources: string[] = [];
  const sourceArgs: number[] = [];
  const sourceContents: SourceContent[] = [];
  for (let i = 0; i < last; i++) {
    const word = args[i]?.value ?? '';
    const marker = heredocMarker(word);
    if (marker) {
      const body = bodies.get(marker.name) ?? '';
      const data = marker.chomp ? chompHeredocContent(body) : body;
      sourceContents.push({ path: marker.name, data, expand: marker.expand });
    } else {
      sources.push(word);
      sourceArgs.push(i);
    }
  }
  return { sources, sourceContents, dest: dest.value, sourceArgs };
}

type RemoteKind = 'http' | 'git' | undefined;

const SCHEME = /^[a-zA-Z0-9]+:\/\//;
const SCP_STYLE = /^[a-zA-Z0-9_-]+@[a-zA-Z0-9.-]+:/;

/** How BuildKit's COPY/ADD would treat a source: an HTTP URL, a git repository, or a local path. */
export function remoteKind(src: string): RemoteKind {
  if (src.startsWith('./') || src.startsWith('../') || src.startsWith('github.com/')) return undefined;
  const scheme = SCHEME.exec(src)?.[0];
  if (scheme !== undefined) {
    const name = scheme.slice(0, -3).toLowerCase();
    if (name === 'git' || name === 'ssh') return 'git';
    if (name !== 'http' && name !== 'https') return undefined;
    const rest = src.slice(scheme.length).split(/[?#]/, 1)[0] ?? '';
    const slash = rest.indexOf('/');
    const path = slash < 0 ? '' : rest.slice(slash);
    if (path.endsWith('.git')) return 'git';
    return src.startsWith('http://') || src.startsWith('https://') ? 'http' : undefined;
  }
  return SCP_STYLE.test(src) ? 'git' : undefined;
}

function chmodOf(scope: Scope, flag: Flag): ChmodSpec | undefined {
  const raw = flag.value;
  if (raw === '') return undefined;
  if (hasVariable(raw)) return { raw };
  try {
    return parseChmod(raw);
  } catch (error) {
    return scope.relocate(error, scope.namedFlagRange('chmod'));
  }
}

function checkCopyFrom(scope: Scope, from: string): void {
  if (from === '') return;
  let expanded: string;
  try {
    expanded = lexerFor(scope.context.escapeToken).processWord(from, new Map());
  } catch (error) {
    return scope.relocate(error, scope.namedFlagRange('from'));
  }
  if (expanded !== from) {
    scope.fail(
      'variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround',
      scope.namedFlagRange('from'),
    );
  }
}

function checkCopySources(scope: Scope, sources: Sources): void {
  sources.sources.forEach((src, i) => {
    if (hasVariable(src)) return;
    const kind = remoteKind(src);
    const range = scope.argRange(sources.sourceArgs[i] ?? 0);
    if (kind === 'git') scope.fail("source can't be a git ref for COPY", range, 'use ADD for git sources');
    if (kind === 'http') scope.fail("source can't be a URL for COPY", range, 'use ADD for remote URLs');
  });
}

function optional(key: string, value: string): Record<string, string> {
  return value === '' ? {} : { [key]: value };
}

export function parseCopy(scope: Scope): CopyInstruction {
  if (scope.node.args.length < 2) scope.fail(errNoDestination('COPY'));
  const flags = new BFlags(scope.node.flags);
  const chown = flags.addString('chown');
  const from = flags.addString('from');
  const chmod = flags.addString('chmod');
  const link = flags.addBool('link');
  const exclude = flags.addStrings('exclude');
  const parents = flags.addBool('parents');
  parseFlags(scope, flags);
  const sources = sourcesAndDest(scope, 'COPY');
  checkCopyFrom(scope, from.value);
  const mode = chmodOf(scope, chmod);
  checkCopySources(scope, sources);
  return {
    ...baseOf(scope, 'copy', flags),
    sources: sources.sources,
    sourceContents: sources.sourceContents,
    dest: sources.dest,
    ...optional('from', from.value),
    ...optional('chown', chown.value),
    ...(mode ? { chmod: mode } : {}),
    link: link.isTrue,
    parents: parents.isTrue,
    exclude: exclude.values,
  };
}

function checkChecksum(scope: Scope, checksum: string, sources: Sources): void {
  if (checksum === '') return;
  const range = scope.namedFlagRange('checksum');
  if (sources.sources.length !== 1) scope.fail("checksum can't be specified for multiple sources", range);
  const src = sources.sources[0] ?? '';
  const remote = src.startsWith('github.com/') || remoteKind(src) !== undefined;
  if (!hasVariable(src) && !remote) {
    scope.fail('checksum requires HTTP(S) or Git sources', range);
  }
}

export function parseAdd(scope: Scope): AddInstruction {
  if (scope.node.args.length < 2) scope.fail(errNoDestination('ADD'));
  const flags = new BFlags(scope.node.flags);
  const chown = flags.addString('chown');
  const chmod = flags.addString('chmod');
  const link = flags.addBool('link');
  const keepGitDir = flags.addBool('keep-git-dir');
  const checksum = flags.addString('checksum');
  const unpack = flags.addBool('unpack');
  const exclude = flags.addStrings('exclude');
  parseFlags(scope, flags);
  const sources = sourcesAndDest(scope, 'ADD');
  const mode = chmodOf(scope, chmod);
  checkChecksum(scope, checksum.value, sources);
  return {
    ...baseOf(scope, 'add', flags),
    sources: sources.sources,
    sourceContents: sources.sourceContents,
    dest: sources.dest,
    ...optional('chown', chown.value),
    ...(mode ? { chmod: mode } : {}),
    link: link.isTrue,
    ...(keepGitDir.used ? { keepGitDir: keepGitDir.isTrue } : {}),
    ...optional('checksum', checksum.value),
    ...(unpack.used ? { unpack: unpack.isTrue } : {}),
    exclude: exclude.values,
  };
}
