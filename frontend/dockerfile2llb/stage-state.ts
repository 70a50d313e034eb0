/**
 * One stage being dispatched: its llb state (environment, working directory and user that RUN sees),
 * the image config it builds up, the build args it declared, and the numbering of its steps in progress
 * names (`[build 2/5] RUN make`).
 */
import { DockerfileError } from '../../core/index.js';
import type { State } from '../../llb/index.js';
import type { Instruction, Stage } from '../instructions/index.js';
import { lexerFor } from '../instructions/common.js';
import type { ShellLex } from '../../parser/index.js';
import type { ImageSpec } from './types.js';

export interface DeclaredArg {
  readonly key: string;
  readonly value?: string;
}

export class StageState {
  state: State;
  image: ImageSpec;
  readonly buildArgs: DeclaredArg[] = [];
  /** Context paths this stage reads (COPY sources, bind mounts from the context). */
  readonly contextPaths = new Set<string>();
  cmdIndex = 0;
  cmdTotal: number;
  cmdIsOnBuild = false;
  cmdSet = false;
  ignoreCache: boolean;
  /** The instructions to dispatch: inherited ONBUILD triggers first, then the stage's own. */
  readonly commands: { readonly instruction: Instruction; readonly onbuild: boolean }[];
  private readonly labelText: string | undefined;

  constructor(
    readonly stage: Stage,
    readonly escapeToken: '\\' | '`',
    init: {
      state: State;
      image: ImageSpec;
      ignoreCache: boolean;
      triggers: readonly Instruction[];
      /** The stage starts from an image (its FROM is a numbered step). */
      fromImage: boolean;
      /** The label in step names (`build`, `stage-1`); none for a single-stage build. */
      label?: string;
    },
  ) {
    this.labelText = init.label;
    this.state = init.state;
    this.image = init.image;
    this.ignoreCache = init.ignoreCache;
    this.commands = [
      ...init.triggers.map((instruction) => ({ instruction, onbuild: true })),
      ...stage.instructions.map((instruction) => ({ instruction, onbuild: false })),
    ];
    const counted = new Set(['add', 'copy', 'run', 'workdir']);
    this.cmdTotal =
      (init.fromImage ? 1 : 0) + this.commands.filter((c) => counted.has(c.instruction.kind)).length;
  }

  get name(): string | undefined {
    return this.stage.name;
  }

  private get label(): string | undefined {
    return this.labelText;
  }

  get lex(): ShellLex {
    return lexerFor(this.escapeToken);
  }

  /** The variables words are expanded with: the state's environment (image ENV, ARGs, ENV). */
  env(): Map<string, string> {
    return new Map(this.state.env);
  }

  expand(word: string): string {
    return this.lex.processWord(word, this.env());
  }

  expandWords(word: string): string[] {
    return this.lex.processWords(word, this.env());
  }

  /** BuildKit's step name: `[name 2/5] RUN x`, the index padded to the width of the total. */
  prefix(text: string): string {
    if (this.cmdTotal === 0) return text;
    this.cmdIndex++;
    const width = String(this.cmdTotal).length;
    const label = this.label !== undefined ? `${this.label} ` : '';
    const onbuild = this.cmdIsOnBuild ? 'ONBUILD ' : '';
    return `[${label}${String(this.cmdIndex).padStart(width)}/${this.cmdTotal}] ${onbuild}${text}`;
  }

  fail(message: string, hint?: string): never {
    throw new DockerfileError(message, hint ? { hint } : {});
  }
}

/** The first word upper-cased (`run echo` → `RUN echo`), as BuildKit names steps. */
export function uppercaseCmd(text: string): string {
  const space = text.indexOf(' ');
  return space < 0 ? text.toUpperCase() : text.slice(0, space).toUpperCase() + text.slice(space);
}
