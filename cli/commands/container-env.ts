/**
 * `-e` and `--env-file` of `run`, `create` and `exec`, as docker reads them: `KEY=value`, or a bare
 * `KEY` that takes the host's value (and is left out when the host has none); env files are read before
 * the `-e` flags, so a flag wins.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from '../../core/index.js';

/** One `-e` value: `KEY=value`, or `KEY` from `hostEnv`; undefined when the host does not set it. */
export function envFromFlag(value: string, hostEnv: NodeJS.ProcessEnv, flag = '--env'): string | undefined {
  const eq = value.indexOf('=');
  const key = eq < 0 ? value : value.slice(0, eq);
  if (key === '')
    throw new InvalidArgumentError(`invalid ${flag} ${JSON.stringify(value)}: no variable name`, {
      hint: `use ${flag} KEY=value, or ${flag} KEY to pass the host's value`,
    });
  if (eq >= 0) return value;
  const host = hostEnv[key];
  return host === undefined ? undefined : `${key}=${host}`;
}

/**
 * An env file's text, as docker reads it: one `KEY=value` per line taken as written after the leading
 * blanks, `#` comment lines and blank lines skipped, a bare `KEY` from `hostEnv` (left out when unset).
 * Errors name `file:line`.
 */
export function parseEnvFile(text: string, file: string, hostEnv: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, '').replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) return;
    const where = `${file}:${i + 1}`;
    if (line.includes('\uFFFD')) throw new InvalidArgumentError(`${where}: invalid UTF-8 in the env file`);
    const eq = line.indexOf('=');
    const key = eq < 0 ? line : line.slice(0, eq);
    if (key === '') throw new InvalidArgumentError(`${where}: no variable name in ${JSON.stringify(line)}`);
    if (/\s/.test(key))
      throw new InvalidArgumentError(`${where}: variable ${JSON.stringify(key)} contains whitespace`);
    if (eq >= 0) out.push(line);
    else if (hostEnv[key] !== undefined) out.push(`${key}=${hostEnv[key]}`);
  });
  return out;
}

/** The `--env-file` files read in order, then the `-e` flags: the container's `KEY=value` list. */
export function envFromFlags(
  flags: { readonly env?: readonly string[]; readonly envFile?: readonly string[] },
  hostEnv: NodeJS.ProcessEnv,
  readText: (file: string) => string = readEnvFileText,
): string[] {
  const out: string[] = [];
  for (const file of flags.envFile ?? []) out.push(...parseEnvFile(readText(file), file, hostEnv));
  for (const value of flags.env ?? []) {
    const entry = envFromFlag(value, hostEnv);
    if (entry !== undefined) out.push(entry);
  }
  return out;
}

function readEnvFileText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    throw new InvalidArgumentError(`--env-file ${file}: ${(cause as Error).message}`, { cause });
  }
}
