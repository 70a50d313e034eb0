/** ENV, ARG, WORKDIR and USER: the instructions that change what later RUN steps see. */
import { posix } from 'node:path';
import * as llb from '../../llb/index.js';
import type { Chown } from '../../llb/index.js';
import type {
  ArgInstruction,
  EnvInstruction,
  UserInstruction,
  WorkdirInstruction,
} from '../instructions/index.js';
import type { Dispatcher } from './dispatcher.js';
import { addEnv, checkPairsSize, commitToHistory } from './image.js';
import { sourceDateEpochOf } from './convert-inputs.js';
import type { StageState } from './stage-state.js';

const ENVIRONMENT = "the stage's environment (its ENV and ARG values)";

export function dispatchEnv(d: StageState, c: EnvInstruction): void {
  // Every pair is expanded with the environment from before the instruction (docker's rule).
  const env = d.env();
  const pairs = c.env.map(
    (kv) => [d.lex.processWord(kv.key, env), d.lex.processWord(kv.value, env)] as const,
  );
  checkPairsSize(ENVIRONMENT, [...d.state.env, ...pairs]);
  for (const [key, value] of pairs) {
    d.state = d.state.withEnv(key, value);
    d.image.config.Env = addEnv(d.image.config.Env, key, value);
  }
  commitToHistory(d.image, `ENV ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`, false);
}

/**
 * ARG: a `--build-arg` wins, then the default (expanded), then the global ARG of the same name. A value
 * joins the environment of later RUN steps (so changing it re-runs only the steps after it), but not the
 * image config.
 */
export function dispatchArg(dx: Dispatcher, d: StageState, c: ArgInstruction): void {
  const shown: string[] = [];
  for (const arg of c.args) {
    // The name is taken as written: current BuildKit expands only the default (since Dockerfile
    // frontend 1.8; older ones expanded the name too).
    const key = arg.key;
    let value: string | undefined;
    if (Object.hasOwn(dx.buildArgValues, key)) value = dx.buildArgValues[key];
    else if (arg.value !== undefined) value = d.expand(arg.value);
    else if (Object.hasOwn(dx.globalArgs, key)) value = dx.globalArgs[key];
    if (value !== undefined) d.state = d.state.withEnv(key, value);
    d.buildArgs.push(value === undefined ? { key } : { key, value });
    shown.push(value === undefined ? key : `${key}=${value}`);
  }
  checkPairsSize(ENVIRONMENT, d.state.env);
  commitToHistory(d.image, `ARG ${shown.join(' ')}`, false);
}

/**
 * `user[:group]` as an llb owner, split as BuildKit's llb.WithUser splits it: at the first colon;
 * numbers and `root` are ids, an empty part is id 0, other names are looked up in the target.
 */
export function parseChown(spec: string): Chown | undefined {
  if (spec === '') return undefined;
  const colon = spec.indexOf(':');
  // A number is an id only within a signed 32-bit int (Go's ParseInt(v, 10, 32)); a larger one is a name.
  const id = (v: string): number | string =>
    v === '' || v === 'root' ? 0 : /^\d+$/.test(v) && Number(v) <= 0x7fffffff ? Number(v) : v;
  if (colon < 0) return { user: id(spec) };
  return { user: id(spec.slice(0, colon)), group: id(spec.slice(colon + 1)) };
}

/** WORKDIR: relative to the previous one; created (owned by the current USER) unless it is `/`. */
export function dispatchWorkdir(dx: Dispatcher, d: StageState, c: WorkdirInstruction): void {
  const path = d.expand(c.path);
  const current = d.image.config.WorkingDir || '/';
  const wd = posix.resolve('/', current, path);
  d.image.config.WorkingDir = wd;
  d.state = d.state.withCwd(wd);
  const withLayer = wd !== '/';
  if (withLayer) {
    const user = d.image.config.User;
    const chown = user ? parseChown(user) : undefined;
    const name = dx.stepName(d, c);
    // Under SOURCE_DATE_EPOCH the directories made get its time, as BuildKit's WithCreatedTime.
    const epoch = sourceDateEpochOf(dx.buildArgValues, dx.globalArgs);
    const made = {
      makeParents: true,
      ...(chown ? { chown } : {}),
      ...(epoch !== undefined ? { timestamp: epoch } : {}),
    };
    d.state = d.state.file(llb.mkdir(wd, 0o755, made), {
      description: { 'llb.customname': name },
      location: { file: dx.instructionContext.file, range: c.range },
      ...(d.ignoreCache ? { ignoreCache: true } : {}),
    });
  }
  commitToHistory(d.image, `WORKDIR ${wd}`, withLayer, false);
}

export function dispatchUser(d: StageState, c: UserInstruction): void {
  const user = d.expand(c.user);
  d.state = d.state.withUser(user);
  d.image.config.User = user;
  commitToHistory(d.image, `USER ${user}`, false);
}
