/**
 * Which checks run and whether they fail the build: the `# check=skip=A,B;experimental=C;error=true`
 * parser directive, the same text in the `BUILDKIT_DOCKERFILE_CHECK` build arg (which replaces the
 * directive), and a `# check=…` comment right above one instruction (merged in for that instruction).
 */
import { DockerfileError } from '../../core/index.js';

export interface CheckConfig {
  readonly skipAll: boolean;
  readonly skip: ReadonlySet<string>;
  readonly experimentalAll: boolean;
  readonly experimental: ReadonlySet<string>;
  /** `error=true`: any warning fails the build. */
  readonly error: boolean;
}

export const DEFAULT_CHECK_CONFIG: CheckConfig = Object.freeze({
  skipAll: false,
  skip: new Set<string>(),
  experimentalAll: false,
  experimental: new Set<string>(),
  error: false,
});

/** The build arg that replaces the Dockerfile's `check` directive. */
export const CHECK_BUILD_ARG = 'BUILDKIT_DOCKERFILE_CHECK';

/** Go's strconv.ParseBool. */
function parseBool(value: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  return undefined;
}

function ruleList(value: string): { all: boolean; names: Set<string> } {
  const v = value.trim();
  if (v === 'all') return { all: true, names: new Set() };
  return { all: false, names: new Set(v.split(',').map((name) => name.trim())) };
}

/**
 * `skip=…;experimental=…;error=…` (at most three `;`-separated options, as BuildKit splits them).
 * A bad option is a DockerfileError whose message names it; `what` says where the text came from.
 */
export function parseCheckOptions(text: string, what = 'check options'): CheckConfig {
  const trimmed = text.trim();
  if (trimmed === '') return DEFAULT_CHECK_CONFIG;
  const parts = splitN(trimmed, ';', 3);
  let config: CheckConfig = { ...DEFAULT_CHECK_CONFIG };
  for (const part of parts) {
    const eq = part.indexOf('=');
    if (eq < 0)
      throw new DockerfileError(`failed to parse ${what}: invalid check option ${JSON.stringify(part)}`);
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1);
    if (key === 'skip') {
      const { all, names } = ruleList(value);
      config = { ...config, skipAll: all, skip: names };
    } else if (key === 'experimental') {
      const { all, names } = ruleList(value);
      config = { ...config, experimentalAll: all, experimental: names };
    } else if (key === 'error') {
      const error = parseBool(value.trim());
      if (error === undefined) {
        throw new DockerfileError(
          `failed to parse ${what}: failed to parse check option ${JSON.stringify(part)}: ` +
            `strconv.ParseBool: parsing ${JSON.stringify(value.trim())}: invalid syntax`,
          { hint: 'error=true or error=false' },
        );
      }
      config = { ...config, error };
    } else {
      throw new DockerfileError(`failed to parse ${what}: invalid check option ${JSON.stringify(key)}`, {
        hint: 'the options are skip=<rules>|all, experimental=<rules>|all and error=true|false',
      });
    }
  }
  return config;
}

/** Go's strings.SplitN. */
function splitN(text: string, sep: string, n: number): string[] {
  const out: string[] = [];
  let rest = text;
  while (out.length < n - 1) {
    const i = rest.indexOf(sep);
    if (i < 0) break;
    out.push(rest.slice(0, i));
    rest = rest.slice(i + sep.length);
  }
  out.push(rest);
  return out;
}

/** `base` with `other`'s skips and experimental rules added (an instruction's `# check=` comment). */
export function mergeCheckConfig(base: CheckConfig, other: CheckConfig): CheckConfig {
  return {
    skipAll: base.skipAll || other.skipAll,
    skip: new Set([...base.skip, ...other.skip]),
    experimentalAll: base.experimentalAll || other.experimentalAll,
    experimental: new Set([...base.experimental, ...other.experimental]),
    error: base.error,
  };
}

const COMMENT_DIRECTIVE = /^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const DIRECTIVE_NAMES = new Set(['syntax', 'escape', 'check']);

/**
 * The options of the first `check=…` among an instruction's comment lines (its value up to the first
 * space, so `# check=skip=all // why` works), or undefined. Comments that do not parse are ignored.
 */
export function commentCheckOptions(comments: readonly string[]): CheckConfig | undefined {
  for (const comment of comments) {
    const m = COMMENT_DIRECTIVE.exec(comment.trimStart());
    const name = m?.[1]?.toLowerCase();
    if (!m || name === undefined || !DIRECTIVE_NAMES.has(name) || name !== 'check') continue;
    const value = (m[2] ?? '').split(' ')[0] ?? '';
    try {
      return parseCheckOptions(value);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * The configuration of a build: the `BUILDKIT_DOCKERFILE_CHECK` build arg when given, else the
 * `check` directive, else the defaults.
 */
export function checkConfigOf(
  directive: string | undefined,
  buildArgs: Readonly<Record<string, string>> = {},
): CheckConfig {
  const fromArg = Object.hasOwn(buildArgs, CHECK_BUILD_ARG) ? buildArgs[CHECK_BUILD_ARG] : undefined;
  if (fromArg !== undefined) return parseCheckOptions(fromArg, CHECK_BUILD_ARG);
  return parseCheckOptions(directive ?? '', 'check options');
}
