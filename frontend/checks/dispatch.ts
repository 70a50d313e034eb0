/**
 * The checks that need a stage's state as it is dispatched: undefined variables (the environment
 * before the instruction), ENV/LABEL/ARG rules, CMD/ENTRYPOINT/HEALTHCHECK used twice, shell-form CMD
 * without a SHELL, relative WORKDIR, EXPOSE formats, sources excluded by .dockerignore, and a base
 * image of another platform. The conversion calls `instruction` before dispatching each instruction.
 */
import type { SourceRange } from '../../core/index.js';
import { clean } from '../../fsutil/index.js';
import { formatPlatform } from '../../oci/index.js';
import type { Platform } from '../../oci/index.js';
import { ShellLex } from '../../parser/index.js';
import { PatternMatcher } from '../../patternmatcher/index.js';
import { lexerFor } from '../instructions/common.js';
import { remoteKind } from '../instructions/copy.js';
import { suggestion } from '../instructions/scope.js';
import type { ArgInstruction, CopyInstruction, AddInstruction, Instruction } from '../instructions/types.js';
import type { Linter } from './linter.js';
import { MESSAGES } from './rules.js';

/** What the checks see of a stage before an instruction is dispatched. */
export interface StageView {
  /** The stage's index (trackers are per stage). */
  readonly index: number;
  /** The stage this one is built on, when it is built on a stage. */
  readonly baseStage?: number;
  /** The environment words are expanded with. */
  readonly env: ReadonlyMap<string, string>;
  /** The ARG names declared so far in the stage. */
  readonly declaredArgs: readonly string[];
  /** The image config's SHELL. */
  readonly shell?: readonly string[] | null;
  readonly escapeToken: '\\' | '`';
  /** `--build-arg` values and the global ARG scope (for ARG defaults). */
  readonly buildArgs: Readonly<Record<string, string>>;
  readonly globalArgs: Readonly<Record<string, string>>;
}

interface StageTrackers {
  workdirSet: boolean;
  readonly once: Map<string, SourceRange>;
}

const SECRET_WORDS =
  /(?:_|^)(?:apikey|auth|credential|credentials|key|password|pword|passwd|secret|token)(?:_|$)/i;
const ALLOWED_WORDS = /(?:_|^)(?:public|file|version)(?:_|$)/i;
/** Build args that never become environment variables (BuildKit's SBOM scan switches). */
const NON_ENV_ARGS = new Set(['BUILDKIT_SBOM_SCAN_CONTEXT', 'BUILDKIT_SBOM_SCAN_STAGE']);
const RAW_LEX = new ShellLex({ escapeToken: '\\', skipProcessQuotes: true });

function secretKey(instruction: string, key: string, range: SourceRange, lint: Linter): void {
  if (SECRET_WORDS.test(key) && !ALLOWED_WORDS.test(key)) {
    lint.run('SecretsUsedInArgOrEnv', range, MESSAGES.SecretsUsedInArgOrEnv(instruction, key));
  }
}

export class DispatchChecks {
  private readonly stages = new Map<number, StageTrackers>();
  private readonly ignore: PatternMatcher | undefined;

  constructor(
    private readonly lint: Linter,
    excludes: readonly string[] = [],
  ) {
    let matcher: PatternMatcher | undefined;
    try {
      matcher = excludes.length > 0 ? PatternMatcher.compile(excludes) : undefined;
    } catch {
      matcher = undefined; // a bad .dockerignore fails the build elsewhere
    }
    this.ignore = matcher?.exclusions ? undefined : matcher;
  }

  private trackers(view: StageView): StageTrackers {
    let t = this.stages.get(view.index);
    if (!t) {
      const base = view.baseStage === undefined ? undefined : this.stages.get(view.baseStage);
      t = { workdirSet: base?.workdirSet ?? false, once: new Map() };
      this.stages.set(view.index, t);
    }
    return t;
  }

  /** InvalidBaseImagePlatform, for a stage whose base is an image. */
  baseImage(
    range: SourceRange,
    name: string,
    expected: Platform,
    actual: Platform,
    comments: readonly string[],
  ): void {
    if (expected.os === actual.os && expected.architecture === actual.architecture) return;
    const msg = MESSAGES.InvalidBaseImagePlatform(name, formatPlatform(expected), formatPlatform(actual));
    this.lint.withComments(comments).run('InvalidBaseImagePlatform', range, msg);
  }

  /** The checks of `c`, with the stage as it is before `c` runs. */
  instruction(view: StageView, c: Instruction): void {
    const lint = this.lint.withComments(c.comments);
    const t = this.trackers(view);
    if (c.kind === 'arg') return this.arg(view, c, lint);
    const expanded = this.undefinedVars(view, c, lint);
    switch (c.kind) {
      case 'env':
        for (const [i, kv] of c.env.entries()) {
          if (kv.noDelim) lint.run('LegacyKeyValueFormat', c.range, MESSAGES.LegacyKeyValueFormat(c.name));
          secretKey('ENV', expanded[2 * i] ?? kv.key, c.range, lint);
        }
        return;
      case 'label':
        for (const kv of c.labels) {
          if (kv.noDelim) lint.run('LegacyKeyValueFormat', c.range, MESSAGES.LegacyKeyValueFormat(c.name));
        }
        return;
      case 'cmd':
      case 'entrypoint':
        this.usedOnce(t, c, lint);
        if (c.prependShell && (view.shell ?? []).length === 0) {
          lint.run('JSONArgsRecommended', c.range, MESSAGES.JSONArgsRecommended(c.name));
        }
        return;
      case 'healthcheck':
        return this.usedOnce(t, c, lint);
      case 'workdir': {
        const path = expanded[0] ?? c.path;
        if (!t.workdirSet && !path.startsWith('/')) {
          lint.run('WorkdirRelativePath', c.range, MESSAGES.WorkdirRelativePath(path));
        }
        t.workdirSet = true;
        return;
      }
      case 'expose':
        return this.expose(view, c.ports, c.range, lint);
      case 'copy':
      case 'add':
        return this.copyIgnored(c, expanded, lint);
      default:
        return;
    }
  }

  /** MultipleInstructionsDisallowed: reported at the earlier instruction, the one that has no effect. */
  private usedOnce(t: StageTrackers, c: Instruction, lint: Linter): void {
    const previous = t.once.get(c.kind);
    if (previous)
      lint.run('MultipleInstructionsDisallowed', previous, MESSAGES.MultipleInstructionsDisallowed(c.name));
    t.once.set(c.kind, c.range);
  }

  /** The words BuildKit expands before dispatching `c`, expanded; UndefinedVar for unset names. */
  private undefinedVars(view: StageView, c: Instruction, lint: Linter): string[] {
    const lex = lexerFor(view.escapeToken);
    const out: string[] = [];
    const expand = (word: string, raw = false): void => {
      try {
        const r = (raw ? RAW_LEX : lex).processWordWithMatches(word, view.env);
        out.push(r.result);
        this.reportUnmatched(view, r.unmatched, c.range, lint);
      } catch {
        out.push(word); // the dispatch reports the error
      }
    };
    for (const word of wordsOf(c)) expand(word);
    if (c.kind === 'copy' || c.kind === 'add') {
      for (const content of c.sourceContents) if (content.expand) expand(content.data, true);
    }
    return out;
  }

  private reportUnmatched(
    view: StageView,
    unmatched: ReadonlySet<string>,
    range: SourceRange,
    lint: Linter,
  ): void {
    const keys = [...view.env.keys()];
    for (const name of unmatched) {
      if (view.declaredArgs.includes(name) || NON_ENV_ARGS.has(name)) continue;
      lint.run('UndefinedVar', range, MESSAGES.UndefinedVar(name, suggestion(name, keys, true)));
    }
  }

  /** ARG: secrets in names, and undefined variables in defaults (each default sees the ARGs before it). */
  private arg(view: StageView, c: ArgInstruction, lint: Linter): void {
    const env = new Map(view.env);
    const declared = [...view.declaredArgs];
    const lex = lexerFor(view.escapeToken);
    for (const arg of c.args) {
      secretKey('ARG', arg.key, c.range, lint);
      let value: string | undefined;
      if (Object.hasOwn(view.buildArgs, arg.key)) value = view.buildArgs[arg.key];
      else if (arg.value !== undefined) {
        try {
          const r = lex.processWordWithMatches(arg.value, env);
          this.reportUnmatched({ ...view, env, declaredArgs: declared }, r.unmatched, c.range, lint);
          value = r.result;
        } catch {
          return;
        }
      } else if (Object.hasOwn(view.globalArgs, arg.key)) value = view.globalArgs[arg.key];
      if (value !== undefined) env.set(arg.key, value);
      declared.push(arg.key);
    }
  }

  private expose(view: StageView, ports: readonly string[], range: SourceRange, lint: Linter): void {
    const lex = lexerFor(view.escapeToken);
    for (const word of ports) {
      let raws: string[];
      try {
        raws = lex.processWords(word, view.env);
      } catch {
        return;
      }
      for (const raw of raws) {
        // BuildKit's splitParts: [[ip:]hostPort:]containerPort, the IP taking any extra colons.
        const parts = raw.split(':');
        const container = parts[parts.length - 1] ?? '';
        const hostPort = parts.length > 1 ? (parts[parts.length - 2] ?? '') : '';
        const ip = parts.slice(0, -2).join(':');
        const slash = container.indexOf('/');
        const proto = slash < 0 ? '' : container.slice(slash + 1);
        const port = slash < 0 ? container : container.slice(0, slash);
        if (port === '' || !['', 'tcp', 'udp', 'sctp'].includes(proto.toLowerCase())) return;
        if (proto !== proto.toLowerCase())
          lint.run('ExposeProtoCasing', range, MESSAGES.ExposeProtoCasing(raw));
        if (ip !== '' || hostPort !== '')
          lint.run('ExposeInvalidFormat', range, MESSAGES.ExposeInvalidFormat(raw));
      }
    }
  }

  /** CopyIgnoredFile: a context source that .dockerignore excludes (not checked with `!` patterns). */
  private copyIgnored(c: CopyInstruction | AddInstruction, expanded: readonly string[], lint: Linter): void {
    const matcher = this.ignore;
    if (!matcher || (c.kind === 'copy' && c.from !== undefined && c.from !== '')) return;
    const offset = sourceOffset(c);
    for (const [i, written] of c.sources.entries()) {
      const src = expanded[offset + i] ?? written;
      if (remoteKind(src) !== undefined) continue;
      const cleaned = clean(src);
      if ((cleaned === '.' || cleaned === '/') && !rootIgnored(matcher)) continue;
      if (matcher.matchesOrParentMatches(cleaned)) {
        lint.run(
          'CopyIgnoredFile',
          c.range,
          MESSAGES.CopyIgnoredFile(c.kind === 'add' ? 'Add' : 'Copy', cleaned),
        );
      }
    }
  }
}

/** The words of `c` that BuildKit expands before dispatch, in its order (COPY/ADD: flags, sources, dest). */
function wordsOf(c: Instruction): string[] {
  switch (c.kind) {
    case 'env':
      return c.env.flatMap((kv) => [kv.key, kv.value]);
    case 'label':
      return c.labels.flatMap((kv) => [kv.key, kv.value]);
    case 'copy':
      return [c.chown ?? '', c.chmod?.raw ?? '', ...c.sources, c.dest];
    case 'add':
      return [c.chown ?? '', c.chmod?.raw ?? '', c.checksum ?? '', ...c.sources, c.dest];
    case 'workdir':
      return [c.path];
    case 'user':
      return [c.user];
    case 'volume':
      return [...c.volumes];
    case 'stopsignal':
      return [c.signal];
    case 'run':
      return c.mounts.flatMap((m) => m.deferred.map((o) => o.value));
    default:
      return [];
  }
}

/** Where the sources start among `wordsOf(c)`. */
function sourceOffset(c: CopyInstruction | AddInstruction): number {
  return c.kind === 'add' ? 3 : 2;
}

function rootIgnored(matcher: PatternMatcher): boolean {
  return matcher.patterns.some((p) => !p.exclusion && ['*', '**', '**/*'].includes(p.text));
}
