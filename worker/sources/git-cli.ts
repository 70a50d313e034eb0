/**
 * The `git` command for the git source: remotes checked and parsed (with a BuildKit-style
 * `#ref:subdir` fragment), git run without prompts, hooks, system or global config, or the `file` and
 * `ext` transports, and refs resolved to commits with `git ls-remote`.
 */
import { spawn } from 'node:child_process';
import { cancelled } from '../../core/index.js';
import { FailedPreconditionError, InvalidArgumentError, TsbuildError } from '../../core/index.js';
import { SCP_LIKE_REMOTE } from '../../core/index.js';

export interface GitRemote {
  /** The remote as git is given it (without the fragment). */
  readonly url: string;
  readonly ref?: string;
  readonly subdir?: string;
}

const SCHEMES = /^(?:https?|git|ssh|git\+ssh|ssh\+git):\/\//iu;

/** `url` with user info hidden (`https://user:token@host` → `https://host`). */
export function redactRemote(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/giu, '$1');
}

/** Splits and checks a remote: `https://host/repo.git#ref:subdir`, `git@host:repo#ref`, … */
export function parseRemote(remote: string): GitRemote {
  const hash = remote.indexOf('#');
  const url = hash < 0 ? remote : remote.slice(0, hash);
  if (!SCHEMES.test(url) && !SCP_LIKE_REMOTE.test(url)) {
    throw new InvalidArgumentError(
      `git source: unsupported remote ${JSON.stringify(redactRemote(url))} (https, http, git, ssh or user@host:path)`,
    );
  }
  if (/\s/u.test(url) || url.startsWith('-')) {
    throw new InvalidArgumentError(`git source: invalid remote ${JSON.stringify(redactRemote(url))}`);
  }
  if (hash < 0) return { url };
  const fragment = remote.slice(hash + 1);
  const colon = fragment.indexOf(':');
  const ref = colon < 0 ? fragment : fragment.slice(0, colon);
  const subdir = colon < 0 ? '' : fragment.slice(colon + 1);
  return { url, ...(ref === '' ? {} : { ref }), ...(subdir === '' ? {} : { subdir }) };
}

/** A subdirectory of the checkout, cleaned ('' for the root); `..` anywhere is an error. */
export function checkSubdir(subdir: string | undefined): string {
  if (subdir === undefined) return '';
  const parts = subdir.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..') || subdir.includes('\0')) {
    throw new InvalidArgumentError(`git source: subdir ${JSON.stringify(subdir)} may not contain ".."`);
  }
  return parts.join('/');
}

/** A ref must not be mistaken for an option or carry odd characters. */
export function checkRef(ref: string | undefined): string | undefined {
  if (ref === undefined || ref === '') return undefined;
  if (ref.startsWith('-') || /[\s\0~^:?*[\\]/u.test(ref) || ref.includes('..')) {
    throw new InvalidArgumentError(`git source: invalid ref ${JSON.stringify(ref)}`);
  }
  return ref;
}

const CONFIG = [
  'protocol.file.allow=never',
  'protocol.ext.allow=never',
  'core.hooksPath=/dev/null',
  'core.fsmonitor=false',
  'core.autocrlf=false',
  'core.symlinks=true',
  'advice.detachedHead=false',
  'init.defaultBranch=main',
  'http.lowSpeedLimit=1',
  'http.lowSpeedTime=120',
  'submodule.recurse=false',
].flatMap((c) => ['-c', c]);

function gitEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_ASKPASS: 'true',
    GIT_SSH_COMMAND: process.env.GIT_SSH_COMMAND ?? 'ssh -o BatchMode=yes',
    LC_ALL: 'C',
  };
  for (const key of ['SSH_AUTH_SOCK', 'GIT_SSH', 'http_proxy', 'https_proxy', 'no_proxy']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return env;
}

export interface GitRunOptions {
  readonly cwd?: string;
  readonly signal: AbortSignal;
  /** Kill git after this long (default 10 minutes). */
  readonly timeoutMs?: number;
}

/** Runs `git <args>` and returns its stdout; a failure is a TsbuildError with git's stderr. */
export function runGit(args: readonly string[], options: GitRunOptions): Promise<string> {
  const { signal } = options;
  if (signal.aborted) return Promise.reject(cancelled(signal));
  return new Promise((resolve, reject) => {
    const child = spawn('git', [...CONFIG, ...args], {
      cwd: options.cwd,
      env: gitEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let err = '';
    let timedOut = false;
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      if (err.length < 8192) err += s;
    });
    const kill = (): void => void child.kill('SIGKILL');
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, options.timeoutMs ?? 600_000);
    signal.addEventListener('abort', kill, { once: true });
    child.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', kill);
      reject(
        e.code === 'ENOENT'
          ? new FailedPreconditionError('git source: the git command is not installed', { cause: e })
          : new TsbuildError('INTERNAL', `git: ${e.message}`, { cause: e }),
      );
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', kill);
      if (signal.aborted) return reject(cancelled(signal));
      if (code === 0) return resolve(Buffer.concat(out).toString('utf8'));
      const what = `git ${args.find((a) => !a.startsWith('-')) ?? ''}`;
      const detail = redactRemote(err.trim().split('\n').slice(-5).join('\n'));
      reject(
        new TsbuildError(
          timedOut ? 'UNAVAILABLE' : 'FAILED_PRECONDITION',
          `${what} ${timedOut ? 'timed out' : `failed (exit ${code})`}${detail ? `: ${detail}` : ''}`,
        ),
      );
    });
  });
}

const COMMIT = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/u;

export const isCommit = (ref: string): boolean => COMMIT.test(ref);

/** A ref resolved on the remote: the commit, and the full ref name it came from (none for a commit). */
export interface ResolvedRef {
  readonly commit: string;
  readonly refName?: string;
}

/**
 * Resolves `ref` (a branch, a tag, a full `refs/…` name, or empty for HEAD) to a commit with
 * `git ls-remote`, with git's precedence: `refs/<ref>`, `refs/tags/<ref>`, `refs/heads/<ref>`.
 * Annotated tags resolve to the commit they point to. A full commit id is taken as it is.
 */
export async function resolveRef(
  url: string,
  ref: string | undefined,
  signal: AbortSignal,
): Promise<ResolvedRef> {
  if (ref !== undefined && isCommit(ref)) return { commit: ref };
  const out = await runGit(['ls-remote', '--', url], { signal, timeoutMs: 120_000 });
  const refs = new Map<string, string>();
  for (const line of out.split('\n')) {
    const [sha, name] = line.split('\t');
    if (sha !== undefined && name !== undefined) refs.set(name, sha);
  }
  const candidates =
    ref === undefined
      ? ['HEAD']
      : ref.startsWith('refs/')
        ? [ref]
        : [`refs/${ref}`, `refs/tags/${ref}`, `refs/heads/${ref}`];
  for (const name of candidates) {
    const sha = refs.get(`${name}^{}`) ?? refs.get(name);
    if (sha !== undefined) return { commit: sha, refName: name };
  }
  throw new TsbuildError(
    'NOT_FOUND',
    `git source: ref ${JSON.stringify(ref ?? 'HEAD')} not found in ${redactRemote(url)}`,
  );
}
