/**
 * Dockerfile → llb, as BuildKit's dockerfile2llb does it: parse, split into stages, resolve the base
 * images of the stages the target needs (in parallel), then dispatch each needed stage's instructions in
 * order (one module per instruction family), and hand back the target's state and image config.
 *
 * The main context is a `local('context')` source that only includes the paths the build reads; those are
 * known after dispatch, so conversion runs twice (it takes microseconds per instruction) with the
 * resolved base images shared between the runs.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { throwIfAborted } from '../../core/index.js';
import { DockerfileError, TsbuildError } from '../../core/index.js';
import * as llb from '../../llb/index.js';
import type { State } from '../../llb/index.js';
import { hostPlatform } from '../../oci/index.js';
import { parseDockerfile } from '../../parser/index.js';
import type { ParseResult } from '../../parser/index.js';
import { DockerfileChecks } from '../checks/index.js';
import type { StageView } from '../checks/index.js';
import { contextOf, parseInstruction, parseStages } from '../instructions/index.js';
import type { Instruction, InstructionContext, Stage, StagesResult } from '../instructions/index.js';
import { checkOptions, checkPlatform, contextSource, localReading, proxyEnvOf } from './convert-inputs.js';
import { sourceDateEpochOf } from './convert-inputs.js';
import { dispatchInstruction } from './dispatch.js';
import type { Dispatcher } from './dispatcher.js';
import { cloneImage, emptyImage, splitEnv } from './image.js';
import { StageState, uppercaseCmd } from './stage-state.js';
import type { ConvertOptions, ConvertResult, ImageSpec, ResolvedImage } from './types.js';

interface BaseOfStage {
  readonly state: State;
  readonly image: ImageSpec;
  readonly triggers: Instruction[];
  /** The stage starts from an image: its FROM is a numbered step. */
  readonly fromImage: boolean;
  readonly base?: StageState;
  readonly resolvedRef?: string;
}

/** Resolved base images by reference, shared by both conversion passes. */
type ImageCache = Map<string, Promise<ResolvedImage>>;

/**
 * Dispatch runs without waiting on anything once the base images are resolved; it lets the event loop
 * turn at least this often (milliseconds), so that a signal (SIGTERM, a daemon client gone) can abort a
 * conversion of a huge Dockerfile.
 */
const YIELD_INTERVAL_MS = 10;

class Converter implements Dispatcher {
  private readonly states = new Map<number, Promise<StageState>>();
  private readonly images = new Map<string, Promise<State>>();
  readonly contextPaths = new Set<string>();
  readonly warnings: string[] = [];
  readonly escapeToken: '\\' | '`';
  readonly instructionContext: InstructionContext;
  /** The size of the definition of every stage dispatched so far (ops shared count once). */
  private readonly size = new llb.DefinitionSize();
  private lastTurn = performance.now();

  constructor(
    readonly options: ConvertOptions,
    readonly parsed: ParseResult,
    readonly stages: StagesResult,
    readonly context: State,
    private readonly resolved: ImageCache,
    /** The build checks, on the first pass only (so each warning is reported once). */
    private readonly checks?: DockerfileChecks,
  ) {
    this.instructionContext = contextOf(parsed);
    this.escapeToken = this.instructionContext.escapeToken ?? '\\';
  }

  get buildArgValues(): Readonly<Record<string, string>> {
    return this.options.buildArgs ?? {};
  }

  get globalArgs(): Readonly<Record<string, string>> {
    return this.stages.globalArgs;
  }

  get multiStage(): boolean {
    return this.stages.stages.length > 1;
  }

  resolveImage(ref: string): Promise<ResolvedImage> {
    let pending = this.resolved.get(ref);
    if (!pending) {
      pending = this.options.resolveImage(ref, this.options.signal ? { signal: this.options.signal } : {});
      this.resolved.set(ref, pending);
    }
    return pending;
  }

  /** A stage by name or index (COPY --from, RUN --mount=from), dispatched; undefined when none. */
  async stageByRef(ref: string): Promise<StageState | undefined> {
    const stages = this.stages.stages;
    const byName = stages.findLast((s) => s.name !== undefined && s.name === ref.toLowerCase());
    if (byName) return this.dispatchStage(byName);
    if (/^\d+$/.test(ref)) {
      const stage = stages[Number(ref)];
      if (!stage) throw new DockerfileError(`invalid stage index ${ref}`);
      return this.dispatchStage(stage);
    }
    return undefined;
  }

  /** `COPY --from=<image>` / `RUN --mount=from=<image>`: a named context or an image's filesystem. */
  async imageState(ref: string): Promise<State> {
    const named = this.options.buildContexts?.[ref];
    if (named?.kind === 'local') {
      // The directory is given to the solve by name (`locals`), never in the op: a key carries no host path.
      return llb.local(`context:${ref}`, localReading(this.options));
    }
    const target = named?.kind === 'image' ? named.ref : ref;
    let pending = this.images.get(target);
    if (!pending) {
      pending = this.resolveImage(target).then((image) =>
        image.config.rootfs?.diff_ids.length === 0
          ? llb.scratch()
          : llb.image(image.ref, { description: { 'llb.customname': `[internal] load ${image.ref}` } }),
      );
      this.images.set(target, pending);
    }
    return pending;
  }

  dispatchStage(stage: Stage): Promise<StageState> {
    let pending = this.states.get(stage.index);
    if (!pending) {
      pending = this.runStage(stage);
      this.states.set(stage.index, pending);
    }
    return pending;
  }

  private label(stage: Stage): string | undefined {
    if (stage.name !== undefined) return stage.name;
    return this.multiStage ? `stage-${stage.index}` : undefined;
  }

  private ignoreCache(stage: Stage): boolean {
    if (this.options.noCache) return true;
    const filter = this.options.noCacheFilter ?? [];
    return stage.name !== undefined && filter.some((n) => n.toLowerCase() === stage.name);
  }

  /** ONBUILD triggers of a base image, parsed as instructions. */
  private parseTriggers(triggers: readonly string[]): Instruction[] {
    return triggers.map((text) => {
      const parsed = parseDockerfile(text, { file: `ONBUILD trigger` });
      const node = parsed.instructions[0];
      if (parsed.instructions.length !== 1 || !node) {
        throw new DockerfileError(`onbuild trigger should be a single expression: ${text}`);
      }
      return parseInstruction(node, contextOf(parsed));
    });
  }

  private async baseOf(stage: Stage): Promise<BaseOfStage> {
    const platform = hostPlatform();
    try {
      // `FROM --platform=…` names a platform this host must be able to build (no emulation).
      checkPlatform(stage.platform);
    } catch (err) {
      throw this.located(err, stage.from);
    }
    if (stage.baseStage !== undefined) {
      const base = await this.dispatchStage(this.stages.stages[stage.baseStage] as Stage);
      const image = cloneImage(base.image);
      image.config.OnBuild = null;
      const triggers = base.stage.instructions.flatMap((i) => (i.kind === 'onbuild' ? [i.trigger] : []));
      return { state: base.state, image, triggers, fromImage: false, base };
    }
    const named = this.options.buildContexts?.[stage.baseName];
    if (named?.kind === 'local') {
      const state = llb.local(`context:${stage.baseName}`, localReading(this.options));
      return { state, image: emptyImage(platform), triggers: [], fromImage: false };
    }
    if (stage.baseName === 'scratch' && named === undefined) {
      return { state: llb.scratch(), image: emptyImage(platform), triggers: [], fromImage: false };
    }
    const ref = named?.kind === 'image' ? named.ref : stage.baseName;
    let resolved: ResolvedImage;
    try {
      resolved = await this.resolveImage(ref);
    } catch (err) {
      throw this.located(err, stage.from);
    }
    const image = cloneImage(resolved.config);
    delete image.created;
    const triggers = this.parseTriggers(image.config.OnBuild ?? []);
    image.config.OnBuild = null;
    const scratch = (image.rootfs?.diff_ids.length ?? 0) === 0;
    const state = scratch ? llb.scratch() : llb.image(resolved.ref);
    return { state, image, triggers, fromImage: !scratch, resolvedRef: resolved.ref };
  }

  private async runStage(stage: Stage): Promise<StageState> {
    const base = await this.baseOf(stage);
    const d = new StageState(stage, this.escapeToken, {
      state: base.state,
      image: base.image,
      ignoreCache: this.ignoreCache(stage),
      triggers: base.triggers,
      fromImage: base.fromImage,
      ...(this.label(stage) !== undefined ? { label: this.label(stage) as string } : {}),
    });
    if (base.base) d.buildArgs.push(...base.base.buildArgs);
    if (base.fromImage && base.resolvedRef !== undefined) {
      const name = d.prefix(`FROM ${base.resolvedRef}`);
      d.state = llb.image(base.resolvedRef, { description: { 'llb.customname': name } });
    }
    if (base.base === undefined) this.initFromImage(d);
    if (base.fromImage) this.checkBaseImage(stage, base.image);
    for (const command of d.commands) {
      if (performance.now() - this.lastTurn >= YIELD_INTERVAL_MS) await this.turn();
      throwIfAborted(this.options.signal);
      d.cmdIsOnBuild = command.onbuild;
      try {
        this.checks?.dispatch.instruction(this.stageView(d), command.instruction);
        await dispatchInstruction(this, d, command.instruction);
        if (this.size.add(d.state.output) > llb.MAX_DEFINITION_SIZE) throw llb.definitionTooLarge();
      } catch (err) {
        throw this.located(err, command.instruction, command.onbuild ? stage.from : undefined);
      }
    }
    return d;
  }

  /** Lets the event loop turn (signals, timers), as dispatch does every YIELD_INTERVAL_MS. */
  private async turn(): Promise<void> {
    await nextTurn();
    this.lastTurn = performance.now();
  }

  private checkBaseImage(stage: Stage, image: ImageSpec): void {
    const host = hostPlatform();
    this.checks?.dispatch.baseImage(stage.from.range, stage.baseName, host, image, stage.from.comments);
  }

  private stageView(d: StageState): StageView {
    return {
      index: d.stage.index,
      ...(d.stage.baseStage !== undefined ? { baseStage: d.stage.baseStage } : {}),
      env: d.env(),
      declaredArgs: d.buildArgs.map((a) => a.key),
      shell: d.image.config.Shell ?? null,
      escapeToken: this.escapeToken,
      buildArgs: this.buildArgValues,
      globalArgs: this.globalArgs,
    };
  }

  /** The state's environment, working directory and user from the base image's config. */
  private initFromImage(d: StageState): void {
    const config = d.image.config;
    if (!(config.Env ?? []).some((e) => splitEnv(e)[0] === 'PATH')) {
      config.Env = [...(config.Env ?? []), `PATH=${llb.DEFAULT_PATH}`];
    }
    for (const entry of config.Env ?? []) {
      const [key, value] = splitEnv(entry);
      if (key !== '') d.state = d.state.withEnv(key, value);
    }
    if (config.WorkingDir) d.state = d.state.withCwd(config.WorkingDir);
    if (config.User) d.state = d.state.withUser(config.User);
  }

  private located(err: unknown, instruction: Instruction, at?: Instruction): unknown {
    const where = at ?? instruction;
    const location = {
      file: this.instructionContext.file,
      source: this.instructionContext.source,
      range: where.range,
    };
    if (err instanceof TsbuildError) return err.location === undefined ? err.withLocation(location) : err;
    const message = (err as Error)?.message ?? String(err);
    return new DockerfileError(message, { cause: err, location });
  }

  /** Name shown for a step: the instruction's text with variables expanded, its word upper-cased. */
  stepName(d: StageState, instruction: Instruction): string {
    const text = instruction.node.original;
    let expanded = text;
    try {
      expanded = d.lex.processWord(text, d.env());
    } catch {
      expanded = text;
    }
    return d.prefix(uppercaseCmd(expanded));
  }
}

async function convertOnce(
  options: ConvertOptions,
  parsed: ParseResult,
  stages: StagesResult,
  cache: ImageCache,
  paths?: readonly string[],
  checks?: DockerfileChecks,
): Promise<{ converter: Converter; target: StageState }> {
  const context = contextSource(options, paths);
  const converter = new Converter(options, parsed, stages, context, cache, checks);
  // Resolve every needed base image at once; dispatch then finds them ready.
  const bases = stages.reachable.filter((s) => s.baseStage === undefined && s.baseName !== 'scratch');
  await Promise.all(
    bases.map((s) => {
      const named = options.buildContexts?.[s.baseName];
      if (named?.kind === 'local') return undefined;
      // Failures surface at the stage's FROM, with its location, when it is dispatched.
      return converter.resolveImage(named?.kind === 'image' ? named.ref : s.baseName).catch(() => undefined);
    }),
  );
  // `--check` looks at every stage, as BuildKit's lint does when no target is given.
  const all = options.check && options.target === undefined;
  for (const stage of all ? stages.stages : stages.reachable) await converter.dispatchStage(stage);
  const target = await converter.dispatchStage(stages.target);
  return { converter, target };
}

/** Converts a Dockerfile into an llb definition and the image config of its target stage. */
export async function convertDockerfile(options: ConvertOptions): Promise<ConvertResult> {
  options.signal?.throwIfAborted();
  checkPlatform(options.platform);
  const parsed = parseDockerfile(options.source, { file: options.file ?? 'Dockerfile' });
  const buildArgs = options.buildArgs ?? {};
  const checks = new DockerfileChecks(parsed, checkOptions(options));
  checks.start();
  const stages = parseStages(parsed, {
    buildArgs,
    ...(options.target !== undefined ? { target: options.target } : {}),
  });
  const epoch = sourceDateEpochOf(buildArgs, stages.globalArgs);
  const cache: ImageCache = new Map();
  const first = await convertOnce(options, parsed, stages, cache, undefined, checks);
  checks.finish();
  const paths = [...first.converter.contextPaths].sort();
  const { converter, target } = await convertOnce(options, parsed, stages, cache, paths);
  const image = cloneImage(target.image);
  if (options.labels && Object.keys(options.labels).length > 0) {
    image.config.Labels = { ...(image.config.Labels ?? {}), ...options.labels };
  }
  const locals: Record<string, string> = {};
  for (const [name, ctx] of Object.entries(options.buildContexts ?? {})) {
    if (ctx.kind === 'local') locals[`context:${name}`] = ctx.path;
  }
  return {
    state: target.state,
    definition: target.state.toDefinition(),
    image,
    proxyEnv: proxyEnvOf(buildArgs),
    contextPaths: paths,
    locals,
    warnings: converter.warnings,
    checks: checks.warnings,
    ...(epoch !== undefined ? { epoch } : {}),
  };
}
