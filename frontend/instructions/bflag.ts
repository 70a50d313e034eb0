/**
 * Instruction flags (`--name[=value]`) with the rules of BuildKit's BFlags: bool flags take no value or
 * true/false, string flags need `=`, string-list flags may repeat, anything unknown is an error.
 */
import { DockerfileError } from '../../core/index.js';
import { withSuggestion } from './scope.js';

export type FlagKind = 'bool' | 'string' | 'strings';

/** One declared flag and what the instruction's words set it to. */
export class Flag {
  /** The value of a bool (`"true"`/`"false"`) or string flag; the default until set. */
  value: string;
  /** Every value of a string-list flag, in order. */
  readonly values: string[] = [];
  /** Indexes in the flag words where this flag appeared. */
  readonly positions: number[] = [];

  constructor(
    readonly name: string,
    readonly kind: FlagKind,
    defaultValue: string,
  ) {
    this.value = defaultValue;
  }

  get used(): boolean {
    return this.positions.length > 0;
  }

  get isTrue(): boolean {
    return this.value === 'true';
  }
}

export class BFlags {
  readonly #flags = new Map<string, Flag>();
  readonly #used: string[] = [];
  /** The index of the flag word that failed to parse, or -1. */
  errorIndex = -1;

  constructor(readonly args: readonly string[]) {}

  addBool(name: string, defaultValue = false): Flag {
    return this.#add(name, 'bool', defaultValue ? 'true' : 'false');
  }

  addString(name: string, defaultValue = ''): Flag {
    return this.#add(name, 'string', defaultValue);
  }

  addStrings(name: string): Flag {
    return this.#add(name, 'strings', '');
  }

  #add(name: string, kind: FlagKind, defaultValue: string): Flag {
    if (this.#flags.has(name)) {
      throw new DockerfileError(`error setting up flags: Duplicate flag defined: ${name}`);
    }
    const flag = new Flag(name, kind, defaultValue);
    this.#flags.set(name, flag);
    return flag;
  }

  /** Names of the flags that appeared (even when set to their default), in order of first appearance. */
  used(): string[] {
    return [...this.#used];
  }

  isUsed(name: string): boolean {
    return this.#flags.get(name)?.used ?? false;
  }

  /** Applies the flag words; throws a DockerfileError (and sets `errorIndex`) on the first bad one. */
  parse(): void {
    for (let i = 0; i < this.args.length; i++) {
      const arg = this.args[i] ?? '';
      if (arg === '--') return;
      try {
        this.#apply(arg, i);
      } catch (error) {
        this.errorIndex = i;
        throw error;
      }
    }
  }

  #apply(arg: string, index: number): void {
    if (!arg.startsWith('--')) throw new DockerfileError(`arg should start with -- : ${arg}`);
    const eq = arg.indexOf('=');
    const flagName = eq < 0 ? arg : arg.slice(0, eq);
    const hasValue = eq >= 0;
    const value = hasValue ? arg.slice(eq + 1) : '';
    const name = flagName.slice(2);
    const flag = this.#flags.get(name);
    if (!flag) {
      const message = withSuggestion(`unknown flag: ${flagName}`, name, [...this.#flags.keys()]);
      throw new DockerfileError(message);
    }
    if (flag.used && flag.kind !== 'strings') {
      throw new DockerfileError(`duplicate flag specified: ${flagName}`);
    }
    if (!flag.used) this.#used.push(name);
    flag.positions.push(index);
    if (flag.kind === 'bool') {
      if (hasValue && value === '') throw new DockerfileError(`missing a value on flag: ${flagName}`);
      const lower = value.toLowerCase();
      if (lower === 'true' || lower === '') flag.value = 'true';
      else if (lower === 'false') flag.value = 'false';
      else throw new DockerfileError(`expecting boolean value for flag ${flagName}, not: ${value}`);
      return;
    }
    if (!hasValue) throw new DockerfileError(`missing a value on flag: ${flagName}`);
    if (flag.kind === 'string') flag.value = value;
    else flag.values.push(value);
  }
}
