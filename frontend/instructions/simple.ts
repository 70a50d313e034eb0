/**
 * The instructions with plain arguments: ENV, LABEL, ARG, EXPOSE, VOLUME, USER, WORKDIR, STOPSIGNAL,
 * MAINTAINER, CMD, ENTRYPOINT and SHELL.
 */
import { trimSpace } from '../../parser/index.js';
import { BFlags } from './bflag.js';
import { argValues, baseOf, commandLine, docComment, handleJSONArgs, parseFlags } from './common.js';
import type { Scope } from './scope.js';
import type {
  ArgDefinition,
  ArgInstruction,
  CmdInstruction,
  EntrypointInstruction,
  EnvInstruction,
  ExposeInstruction,
  KeyValuePair,
  LabelInstruction,
  MaintainerInstruction,
  ShellInstruction,
  StopSignalInstruction,
  UserInstruction,
  VolumeInstruction,
  WorkdirInstruction,
} from './types.js';

export const errAtLeastOneArgument = (command: string): string => `${command} requires at least one argument`;
export const errExactlyOneArgument = (command: string): string => `${command} requires exactly one argument`;

/** Parses the flag words of an instruction that has no flags (any flag is unknown). */
function noFlags(scope: Scope): BFlags {
  const flags = new BFlags(scope.node.flags);
  parseFlags(scope, flags);
  return flags;
}

/** The only argument of USER, WORKDIR, STOPSIGNAL and MAINTAINER. */
function exactlyOne(scope: Scope, command: string): string {
  const args = argValues(scope);
  if (args.length !== 1) scope.fail(errExactlyOneArgument(command), scope.argRange(1));
  return args[0] ?? '';
}

function keyValuePairs(scope: Scope, command: string): KeyValuePair[] {
  const args = argValues(scope);
  if (args.length === 0) scope.fail(errAtLeastOneArgument(command));
  if (args.length % 3 !== 0) scope.fail(`Bad input to ${command}, too many arguments`);
  const pairs: KeyValuePair[] = [];
  for (let i = 0; i < args.length; i += 3) {
    const key = args[i] ?? '';
    if (key === '') scope.fail(`${command} names can not be blank`, scope.argRange(i));
    pairs.push({ key, value: args[i + 1] ?? '', noDelim: args[i + 2] === '' });
  }
  return pairs;
}

export function parseEnv(scope: Scope): EnvInstruction {
  const flags = noFlags(scope);
  return { ...baseOf(scope, 'env', flags), env: keyValuePairs(scope, 'ENV') };
}

export function parseLabel(scope: Scope): LabelInstruction {
  const flags = noFlags(scope);
  return { ...baseOf(scope, 'label', flags), labels: keyValuePairs(scope, 'LABEL') };
}

export function parseMaintainer(scope: Scope): MaintainerInstruction {
  const maintainer = exactlyOne(scope, 'MAINTAINER');
  const flags = noFlags(scope);
  return { ...baseOf(scope, 'maintainer', flags), maintainer };
}

export function parseWorkdir(scope: Scope): WorkdirInstruction {
  const path = exactlyOne(scope, 'WORKDIR');
  const flags = noFlags(scope);
  return { ...baseOf(scope, 'workdir', flags), path };
}

export function parseUser(scope: Scope): UserInstruction {
  const user = exactlyOne(scope, 'USER');
  const flags = noFlags(scope);
  return { ...baseOf(scope, 'user', flags), user };
}

/** BuildKit does not look at STOPSIGNAL's flags; here any flag is reported as unknown. */
export function parseStopSignal(scope: Scope): StopSignalInstruction {
  const signal = exactlyOne(scope, 'STOPSIGNAL');
  const flags = noFlags(scope);
  return { ...baseOf(scope, 'stopsignal', flags), signal };
}

export function parseExpose(scope: Scope): ExposeInstruction {
  const ports = argValues(scope);
  if (ports.length === 0) scope.fail(errAtLeastOneArgument('EXPOSE'));
  const flags = noFlags(scope);
  ports.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { ...baseOf(scope, 'expose', flags), ports };
}

export function parseVolume(scope: Scope): VolumeInstruction {
  const args = argValues(scope);
  if (args.length === 0) scope.fail(errAtLeastOneArgument('VOLUME'));
  const flags = noFlags(scope);
  const volumes = args.map((v, i) => {
    const volume = trimSpace(v);
    if (volume === '') scope.fail('VOLUME specified can not be an empty string', scope.argRange(i));
    return volume;
  });
  return { ...baseOf(scope, 'volume', flags), volumes };
}

/** BuildKit does not look at ARG's flags; here any flag is reported as unknown. */
export function parseArg(scope: Scope): ArgInstruction {
  const words = argValues(scope);
  if (words.length === 0) scope.fail(errAtLeastOneArgument('ARG'));
  const flags = noFlags(scope);
  const args = words.map((word, i): ArgDefinition => {
    const eq = word.indexOf('=');
    const key = eq < 0 ? word : word.slice(0, eq);
    if (eq === 0) scope.fail('ARG names can not be blank', scope.argRange(i));
    const doc = docComment(scope.node.comments, key);
    return eq < 0 ? { key, docComment: doc } : { key, value: word.slice(eq + 1), docComment: doc };
  });
  return { ...baseOf(scope, 'arg', flags), args };
}

export function parseCmd(scope: Scope): CmdInstruction {
  const flags = noFlags(scope);
  return { ...baseOf(scope, 'cmd', flags), ...commandLine(scope) };
}

export function parseEntrypoint(scope: Scope): EntrypointInstruction {
  const flags = noFlags(scope);
  return { ...baseOf(scope, 'entrypoint', flags), ...commandLine(scope) };
}

export function parseShell(scope: Scope): ShellInstruction {
  const flags = noFlags(scope);
  const shell = handleJSONArgs(argValues(scope), scope.node.json);
  if (shell.length === 0) scope.fail(errAtLeastOneArgument('SHELL'));
  if (!scope.node.json) scope.fail('SHELL requires the arguments to be in JSON form', scope.argRange(0));
  return { ...baseOf(scope, 'shell', flags), shell };
}
