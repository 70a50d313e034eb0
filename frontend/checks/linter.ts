/**
 * The linter: runs a rule at a location unless the configuration skips it, hands each warning to the
 * sink as it happens (so warnings found before an error still reach the user), and remembers the rules
 * that fired for `error=true`.
 */
import { DockerfileError } from '../../core/index.js';
import type { SourceLocation, SourceRange } from '../../core/index.js';
import { commentCheckOptions, mergeCheckConfig } from './config.js';
import type { CheckConfig } from './config.js';
import { RULES } from './rules.js';
import type { RuleName } from './rules.js';

/** One warning, as BuildKit's lint result and progress stream carry it. */
export interface CheckWarning {
  readonly rule: string;
  /** The rule's description (buildx prints it under the warning). */
  readonly description: string;
  /** The rule's documentation page ('' when it has none). */
  readonly url: string;
  /** The message (BuildKit's `detail`): `'as' and 'FROM' keywords' casing do not match`. */
  readonly detail: string;
  /** The one-line form buildx prints: `FromAsCasing: … (line 2)`. */
  readonly message: string;
  /** The instruction (or line) it is about. */
  readonly range: SourceRange;
}

export type WarningSink = (warning: CheckWarning) => void;

/** `Rule: detail (line N)`: BuildKit's LintFormatShort. */
export function shortMessage(rule: string, detail: string, line: number): string {
  return line > 0 ? `${rule}: ${detail} (line ${line})` : `${rule}: ${detail}`;
}

interface Shared {
  readonly sink: WarningSink;
  readonly fired: Set<string>;
  readonly warnings: CheckWarning[];
}

export class Linter {
  private constructor(
    readonly config: CheckConfig,
    private readonly shared: Shared,
  ) {}

  static create(config: CheckConfig, sink: WarningSink = () => {}): Linter {
    return new Linter(config, { sink, fired: new Set(), warnings: [] });
  }

  /** Every warning so far, in the order they were found. */
  get warnings(): readonly CheckWarning[] {
    return this.shared.warnings;
  }

  /** Whether `name` runs under this configuration. */
  enabled(name: RuleName): boolean {
    const rule = RULES[name];
    const c = this.config;
    if ('experimental' in rule && rule.experimental) return c.experimentalAll || c.experimental.has(name);
    return !(c.skipAll || c.skip.has(name));
  }

  run(name: RuleName, range: SourceRange, detail: string): void {
    if (!this.enabled(name)) return;
    const rule = RULES[name];
    const warning: CheckWarning = {
      rule: rule.name,
      description: rule.description,
      url: rule.url,
      detail,
      message: shortMessage(rule.name, detail, range.start.line),
      range,
    };
    this.shared.fired.add(rule.name);
    this.shared.warnings.push(warning);
    this.shared.sink(warning);
  }

  /** This linter with the `# check=` comment among `comments` merged in (same sink and record). */
  withComments(comments: readonly string[]): Linter {
    const extra = commentCheckOptions(comments);
    return extra ? new Linter(mergeCheckConfig(this.config, extra), this.shared) : this;
  }

  /**
   * With `error=true` and any warning: BuildKit's error (`lint violation found for rules: A, B`),
   * located at the first warning; otherwise undefined.
   */
  error(location: Omit<SourceLocation, 'range'>): DockerfileError | undefined {
    const first = this.shared.warnings[0];
    if (!this.config.error || first === undefined) return undefined;
    return new DockerfileError(`lint violation found for rules: ${[...this.shared.fired].join(', ')}`, {
      location: { ...location, range: first.range },
      hint: 'check error=true is set: fix the warnings, or skip their rules with # check=skip=<rule>',
    });
  }
}
