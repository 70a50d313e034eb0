/**
 * Build checks (BuildKit's Dockerfile linter): the rules, the `check` directive and build arg, and the
 * runner the conversion drives: `start` runs the checks that need only the Dockerfile, `dispatch`
 * holds those that run as stages are dispatched, and `finish` fails the build when `error=true` and a
 * check fired.
 */
import type { ParseResult } from '../../parser/index.js';
import { TsbuildError } from '../../core/index.js';
import { CHECK_BUILD_ARG, checkConfigOf } from './config.js';
import type { CheckConfig } from './config.js';
import { DispatchChecks } from './dispatch.js';
import { Linter } from './linter.js';
import type { CheckWarning, WarningSink } from './linter.js';
import { staticChecks } from './static.js';

export { RULES, MESSAGES } from './rules.js';
export type { CheckRule, RuleName } from './rules.js';
export { parseCheckOptions, checkConfigOf, commentCheckOptions, CHECK_BUILD_ARG } from './config.js';
export type { CheckConfig } from './config.js';
export { Linter, shortMessage } from './linter.js';
export type { CheckWarning, WarningSink } from './linter.js';
export { DispatchChecks } from './dispatch.js';
export type { StageView } from './dispatch.js';
export { isValidReference } from './reference.js';

export interface CheckRunOptions {
  readonly buildArgs?: Readonly<Record<string, string>>;
  readonly target?: string;
  /** The main context's `.dockerignore` patterns (CopyIgnoredFile). */
  readonly excludes?: readonly string[];
  /** Called with each warning as it is found. */
  readonly onWarning?: WarningSink;
}

export class DockerfileChecks {
  readonly dispatch: DispatchChecks;
  private readonly linter: Linter;

  /** Reads the configuration (a bad `check` directive or build arg throws a DockerfileError). */
  constructor(
    private readonly parsed: ParseResult,
    private readonly options: CheckRunOptions = {},
  ) {
    const directive = parsed.directives.find((d) => d.name === 'check');
    let config: CheckConfig;
    try {
      config = checkConfigOf(directive?.value, options.buildArgs);
    } catch (err) {
      // A bad directive is reported at its line; a bad build arg has no place in the file.
      const fromArg = options.buildArgs !== undefined && Object.hasOwn(options.buildArgs, CHECK_BUILD_ARG);
      if (!(err instanceof TsbuildError) || fromArg || directive === undefined) throw err;
      throw err.withLocation({ file: parsed.file, source: parsed.source, range: directive.range });
    }
    this.linter = Linter.create(config, options.onWarning);
    this.dispatch = new DispatchChecks(this.linter, options.excludes);
  }

  get warnings(): readonly CheckWarning[] {
    return this.linter.warnings;
  }

  /** The checks that need only the Dockerfile. */
  start(): void {
    staticChecks(this.parsed, this.linter, {
      ...(this.options.buildArgs ? { buildArgs: this.options.buildArgs } : {}),
      ...(this.options.target !== undefined ? { target: this.options.target } : {}),
    });
  }

  /** With `error=true` and a warning, the build's error; throws it. */
  finish(): void {
    const error = this.linter.error({ file: this.parsed.file, source: this.parsed.source });
    if (error) throw error;
  }
}
