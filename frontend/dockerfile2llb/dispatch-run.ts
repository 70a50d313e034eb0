/**
 * RUN: shell or exec form, heredocs (a lone heredoc with a shebang runs as a file; a lone heredoc without
 * runs as the shell's script; anything else goes to the shell whole), mounts, network and security modes,
 * and BuildKit's history text (`RUN |2 A=1 B=2 /bin/sh -c make # buildkit`).
 */
import { DockerfileError, FailedPreconditionError } from '../../core/index.js';
import { replaceEscapes } from '../../core/index.js';
import * as llb from '../../llb/index.js';
import type { MountSpec, NetworkMode } from '../../llb/index.js';
import { chompHeredocContent, parseHeredocWord } from '../../parser/index.js';
import { ShellLex } from '../../parser/index.js';
import type { RunInstruction } from '../instructions/index.js';
import type { Dispatcher } from './dispatcher.js';
import { dispatchRunMounts } from './dispatch-mounts.js';
import { commitToHistory, withShell } from './image.js';
import type { StageState } from './stage-state.js';
import { uppercaseCmd } from './stage-state.js';

function summarizeHeredoc(doc: string): string {
  const lines = doc.trim().replace(/\r\n/g, '\n').split('\n');
  return lines.length > 1 ? `${lines[0]}...` : (lines[0] ?? '');
}

interface RunCommand {
  readonly args: string[];
  readonly mounts: MountSpec[];
  readonly summary?: string;
}

/**
 * The argument vector of a RUN with heredocs, and the inline-file mount a shebang script needs. The
 * bodies may hold bytes that are not UTF-8 (escaped, see core/utf8.ts): a shebang script is written
 * with them as they are, as BuildKit does; in the command (runc's config.json for BuildKit) and the
 * step's name each becomes U+FFFD.
 */
function heredocCommand(c: RunInstruction): RunCommand {
  const first = c.files[0];
  if (c.cmdLine.length !== 1 || !c.prependShell || !first) {
    throw new DockerfileError(`parsing produced an invalid run command: ${JSON.stringify(c.cmdLine)}`);
  }
  const word = c.cmdLine[0] ?? '';
  if (c.files.length === 1 && parseHeredocWord(word.trim()) !== undefined) {
    const data = first.chomp ? chompHeredocContent(first.data) : first.data;
    const summary = summarizeHeredoc(replaceEscapes(first.data));
    if (data.startsWith('#!')) {
      const script = llb.scratch().file(llb.mkfile(`/${first.name}`, 0o755, data), {
        description: { 'llb.customname': '[internal] preparing inline document' },
      });
      const mount: MountSpec = {
        type: 'bind',
        dest: '/dev/pipes/',
        from: script,
        selector: '/',
        readonly: true,
      };
      return { args: [`/dev/pipes/${first.name}`], mounts: [mount], summary };
    }
    return { args: [replaceEscapes(data)], mounts: [], summary };
  }
  let script = word;
  for (const file of c.files) script += `\n${replaceEscapes(file.data)}${file.name}`;
  return { args: [script], mounts: [] };
}

/** BuildKit's `RUN` history text: the stage's build args with their values, then the command. */
function runCommandString(args: readonly string[], d: StageState, env: ReadonlyMap<string, string>): string {
  const entries = new Map<string, string>();
  for (const arg of d.buildArgs) entries.set(arg.key, env.get(arg.key) ?? arg.value ?? '');
  const prefix = entries.size > 0 ? [`|${entries.size}`, ...[...entries].map(([k, v]) => `${k}=${v}`)] : [];
  return [...prefix, ...args].join(' ');
}

function networkOf(dx: Dispatcher, c: RunInstruction): NetworkMode {
  const mode = c.flagsUsed.includes('network') ? c.network : (dx.options.network ?? 'default');
  return mode === 'default' ? 'sandbox' : mode;
}

export async function dispatchRun(dx: Dispatcher, d: StageState, c: RunInstruction): Promise<void> {
  const command: RunCommand = c.files.length > 0 ? heredocCommand(c) : { args: [...c.cmdLine], mounts: [] };
  const args = c.prependShell ? withShell(d.image, command.args) : command.args;
  if (c.security === 'insecure' && !dx.options.allowInsecure) {
    throw new FailedPreconditionError('RUN --security=insecure is not allowed', {
      hint: 'pass --allow security.insecure to the build',
    });
  }
  const required = c.devices.filter((dev) => dev.required);
  if (required.length > 0) {
    throw new FailedPreconditionError(
      `RUN --device is not supported (${required.map((x) => x.name).join(', ')})`,
    );
  }
  const mounts = [...command.mounts, ...(await dispatchRunMounts(dx, d, c))];
  const env = d.env();
  const display = new ShellLex({ escapeToken: d.escapeToken, rawQuotes: true, skipUnsetEnv: true });
  let text = c.node.original;
  try {
    text = display.processWord(text, env);
  } catch {
    // The unexpanded text is a fine name.
  }
  if (command.summary !== undefined) text += ` (${command.summary})`;
  const name = d.prefix(uppercaseCmd(text));
  d.state = d.state.run({
    args,
    mounts,
    network: networkOf(dx, c),
    security: c.security,
    metadata: {
      description: { 'llb.customname': name },
      location: { file: dx.instructionContext.file, range: c.range },
      ...(d.ignoreCache ? { ignoreCache: true } : {}),
    },
  });
  commitToHistory(d.image, `RUN ${runCommandString(args, d, env)}`, true);
}
