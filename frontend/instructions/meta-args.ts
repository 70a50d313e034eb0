/**
 * The global ARG scope FROM lines see: the automatic platform ARGs (BUILDPLATFORM, TARGETARCH …,
 * TARGETSTAGE), overridable by build args, then the ARGs declared before the first FROM.
 */
import { lexerFor } from './common.js';
import { Scope } from './scope.js';
import type { ArgInstruction, InstructionContext } from './types.js';
import { formatPlatform, hostPlatform as hostPlatformParts } from '../../oci/index.js';

interface PlatformParts {
  readonly os: string;
  readonly arch: string;
  readonly variant: string;
}

/** linux on this machine's architecture, as a platform string. */
export function hostPlatform(): string {
  return formatPlatform(hostPlatformParts());
}

function splitPlatform(platform: string): PlatformParts {
  const [os = '', arch = '', variant = ''] = platform.split('/');
  return { os, arch, variant };
}

/** The automatic ARGs, each replaced by a build arg of the same name when one is given. */
export function defaultArgs(
  options: {
    readonly buildArgs?: Readonly<Record<string, string>>;
    readonly buildPlatform?: string;
    readonly targetPlatform?: string;
  },
  target: string,
): Map<string, string> {
  const buildPlatform = options.buildPlatform || hostPlatform();
  const targetPlatform = options.targetPlatform || buildPlatform;
  const build = splitPlatform(buildPlatform);
  const tp = splitPlatform(targetPlatform);
  const entries: [string, string][] = [
    ['BUILDPLATFORM', buildPlatform],
    ['BUILDOS', build.os],
    ['BUILDOSVERSION', ''],
    ['BUILDARCH', build.arch],
    ['BUILDVARIANT', build.variant],
    ['TARGETPLATFORM', targetPlatform],
    ['TARGETOS', tp.os],
    ['TARGETOSVERSION', ''],
    ['TARGETARCH', tp.arch],
    ['TARGETVARIANT', tp.variant],
    ['TARGETSTAGE', target || 'default'],
  ];
  const overrides = options.buildArgs ?? {};
  const env = new Map<string, string>();
  for (const [key, value] of entries) {
    env.set(key, Object.hasOwn(overrides, key) ? (overrides[key] ?? '') : value);
  }
  return env;
}

/**
 * Adds the meta ARGs to `env` in order: a build arg wins, else the default (expanded with what is
 * defined so far); an ARG with neither stays unset. Expansion errors point at the ARG.
 */
export function expandMetaArgs(
  env: Map<string, string>,
  metaArgs: readonly ArgInstruction[],
  buildArgs: Readonly<Record<string, string>>,
  context: InstructionContext,
): void {
  const lex = lexerFor(context.escapeToken);
  for (const instruction of metaArgs) {
    for (const arg of instruction.args) {
      let value: string | undefined;
      if (Object.hasOwn(buildArgs, arg.key)) {
        value = buildArgs[arg.key] ?? '';
      } else if (arg.value !== undefined) {
        try {
          value = lex.processWord(arg.value, env);
        } catch (error) {
          new Scope(context, instruction.node).relocate(error);
        }
      }
      if (value !== undefined) env.set(arg.key, value);
    }
  }
}
