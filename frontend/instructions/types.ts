/**
 * Typed Dockerfile instructions: what BuildKit's frontend/dockerfile/instructions package produces from
 * the AST, as plain data (JSON.stringify prints every field). Values are kept as written: variables
 * are expanded later, when the instruction is dispatched.
 */
import type { SourceRange } from '../../core/index.js';
import type { InstructionNode } from '../../parser/index.js';

export type InstructionKind =
  | 'from'
  | 'run'
  | 'copy'
  | 'add'
  | 'env'
  | 'arg'
  | 'label'
  | 'expose'
  | 'volume'
  | 'user'
  | 'workdir'
  | 'cmd'
  | 'entrypoint'
  | 'shell'
  | 'stopsignal'
  | 'healthcheck'
  | 'onbuild'
  | 'maintainer';

/** What every instruction carries. */
export interface InstructionBase<K extends InstructionKind> {
  readonly kind: K;
  /** The instruction word as written (`RUN`, `run`, `Run`). */
  readonly name: string;
  /** The flags that appeared, in order of first appearance, without `--`. */
  readonly flagsUsed: readonly string[];
  /** Comment lines right before the instruction. */
  readonly comments: readonly string[];
  readonly range: SourceRange;
  /** The AST node this instruction was built from. */
  readonly node: InstructionNode;
}

/** `KEY=value` (or legacy `KEY value`, `noDelim`) of ENV and LABEL, both as written. */
export interface KeyValuePair {
  readonly key: string;
  readonly value: string;
  readonly noDelim: boolean;
}

/** One name of an ARG line; `value` is absent when no default was given. */
export interface ArgDefinition {
  readonly key: string;
  readonly value?: string;
  /** The text of a preceding comment line that starts with the name (the name removed). */
  readonly docComment: string;
}

/** A heredoc of RUN, CMD or ENTRYPOINT: a file the shell reads. `data` is the raw body. */
export interface ShellInlineFile {
  readonly name: string;
  readonly data: string;
  readonly chomp: boolean;
}

/** A command line: exec form (`prependShell` false) or shell form (one string, run by the shell). */
export interface CommandLine {
  readonly cmdLine: readonly string[];
  readonly prependShell: boolean;
  readonly files: readonly ShellInlineFile[];
}

/** A heredoc source of COPY or ADD. `data` is chomped already when the marker was `<<-`. */
export interface SourceContent {
  readonly path: string;
  readonly data: string;
  readonly expand: boolean;
}

export interface SourcesAndDest {
  /** File sources as written (paths, globs, URLs, git refs). */
  readonly sources: readonly string[];
  /** Heredoc sources. */
  readonly sourceContents: readonly SourceContent[];
  readonly dest: string;
}

/** A `--chmod` value: `mode` is set for the octal form, absent for a symbolic one (`u+x,g-w`). */
export interface ChmodSpec {
  readonly raw: string;
  readonly mode?: number;
}

export type MountType = 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh';
export type MountSharing = 'shared' | 'private' | 'locked';
export type NetworkMode = 'default' | 'none' | 'host';
export type SecurityMode = 'sandbox' | 'insecure';

/** A mount option whose value holds a variable, as written; it is checked when the RUN is dispatched. */
export interface MountOption {
  readonly key: string;
  readonly value: string;
}

/** One `RUN --mount=...`. Options with variables are listed in `deferred` and left out of the fields. */
export interface RunMount {
  readonly raw: string;
  readonly type: MountType;
  readonly from?: string;
  readonly source?: string;
  readonly target?: string;
  readonly readOnly: boolean;
  readonly id?: string;
  readonly sharing?: MountSharing;
  readonly required: boolean;
  /** tmpfs size in bytes. */
  readonly sizeLimit?: number;
  /** Secret exposed as this environment variable (empty: the default name). */
  readonly env?: string;
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly deferred: readonly MountOption[];
}

/** One `RUN --device=...` (a CDI device name). */
export interface RunDevice {
  readonly name: string;
  readonly required: boolean;
}

/** Durations are in nanoseconds, 0 meaning "not set" (the image default applies). */
export interface HealthConfig {
  /** `["NONE"]`, `["CMD", ...args]` (exec form) or `["CMD-SHELL", command]`. */
  readonly test: readonly string[];
  readonly interval: number;
  readonly timeout: number;
  readonly startPeriod: number;
  readonly startInterval: number;
  readonly retries: number;
}

export interface FromInstruction extends InstructionBase<'from'> {
  /** The base image or stage as written (variables not expanded). */
  readonly image: string;
  /** The `AS` name, lower-cased. */
  readonly stageName?: string;
  /** `--platform` as written. */
  readonly platform?: string;
  readonly docComment: string;
}

export interface RunInstruction extends InstructionBase<'run'>, CommandLine {
  readonly mounts: readonly RunMount[];
  readonly network: NetworkMode;
  readonly security: SecurityMode;
  readonly devices: readonly RunDevice[];
}

export interface CopyInstruction extends InstructionBase<'copy'>, SourcesAndDest {
  /** `--from`: a stage name, a stage index or an image. */
  readonly from?: string;
  readonly chown?: string;
  readonly chmod?: ChmodSpec;
  readonly link: boolean;
  readonly parents: boolean;
  readonly exclude: readonly string[];
}

export interface AddInstruction extends InstructionBase<'add'>, SourcesAndDest {
  readonly chown?: string;
  readonly chmod?: ChmodSpec;
  readonly link: boolean;
  readonly keepGitDir?: boolean;
  readonly checksum?: string;
  readonly unpack?: boolean;
  readonly exclude: readonly string[];
}

export interface EnvInstruction extends InstructionBase<'env'> {
  readonly env: readonly KeyValuePair[];
}

export interface ArgInstruction extends InstructionBase<'arg'> {
  readonly args: readonly ArgDefinition[];
}

export interface LabelInstruction extends InstructionBase<'label'> {
  readonly labels: readonly KeyValuePair[];
}

export interface ExposeInstruction extends InstructionBase<'expose'> {
  /** Sorted, as BuildKit sorts them. */
  readonly ports: readonly string[];
}

export interface VolumeInstruction extends InstructionBase<'volume'> {
  readonly volumes: readonly string[];
}

export interface UserInstruction extends InstructionBase<'user'> {
  readonly user: string;
}

export interface WorkdirInstruction extends InstructionBase<'workdir'> {
  readonly path: string;
}

export interface CmdInstruction extends InstructionBase<'cmd'>, CommandLine {}

export interface EntrypointInstruction extends InstructionBase<'entrypoint'>, CommandLine {}

export interface ShellInstruction extends InstructionBase<'shell'> {
  readonly shell: readonly string[];
}

export interface StopSignalInstruction extends InstructionBase<'stopsignal'> {
  readonly signal: string;
}

export interface HealthcheckInstruction extends InstructionBase<'healthcheck'> {
  readonly health: HealthConfig;
}

export interface OnbuildInstruction extends InstructionBase<'onbuild'> {
  /** The trigger's source text (ONBUILD removed, heredoc bodies appended), as BuildKit stores it. */
  readonly expression: string;
  /** The trigger, parsed. */
  readonly trigger: Instruction;
}

export interface MaintainerInstruction extends InstructionBase<'maintainer'> {
  readonly maintainer: string;
}

export type Instruction =
  | FromInstruction
  | RunInstruction
  | CopyInstruction
  | AddInstruction
  | EnvInstruction
  | ArgInstruction
  | LabelInstruction
  | ExposeInstruction
  | VolumeInstruction
  | UserInstruction
  | WorkdirInstruction
  | CmdInstruction
  | EntrypointInstruction
  | ShellInstruction
  | StopSignalInstruction
  | HealthcheckInstruction
  | OnbuildInstruction
  | MaintainerInstruction;

/** Where an instruction's errors point, and how its words are lexed. */
export interface InstructionContext {
  /** The name shown in error locations. */
  readonly file: string;
  /** The whole Dockerfile text, for error excerpts and precise flag locations. */
  readonly source: string;
  readonly escapeToken?: '\\' | '`';
}
