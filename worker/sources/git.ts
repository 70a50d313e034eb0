/**
 * The `git:<remote>` source (Dockerfile `ADD <git url>`): a snapshot with a checkout of one commit,
 * without `.git` unless `keepGitDir` is `true`, or only its `subdir`; submodules are checked out too.
 * A `checksum` attr (`ADD --checksum`) is the commit, or a prefix of it, the ref must resolve to.
 *
 * The cache key is the op digest and the commit the ref resolves to on the remote (`git ls-remote`),
 * so a branch that did not move is a cache hit and one that moved is fetched again. The op fetches that
 * commit alone (`--depth=1`) into a temporary repository, checks it out, and copies the wanted tree
 * into a new snapshot with the file op's copier (every path resolved inside the checkout, so a subdir
 * that is a symlink cannot lead outside it).
 */
import { lstat, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FailedPreconditionError, InvalidArgumentError, TsbuildError } from '../../core/index.js';
import type { SourceOp } from '../../llb/index.js';
import type { CacheMap, Op, OpContext } from '../../solver/index.js';
import { applyFileActions, wholeTreeCopy } from '../fileop/index.js';
import { sha } from '../local-hash.js';
import type { WorkerResult } from '../results.js';
import type { GitRemote, ResolvedRef } from './git-cli.js';
import { checkRef, checkSubdir, parseRemote, redactRemote, resolveRef, runGit } from './git-cli.js';
import type { SourceDeps } from './types.js';

interface GitSpec {
  readonly url: string;
  readonly ref: string | undefined;
  readonly subdir: string;
  readonly keepGitDir: boolean;
  /** `ADD --checksum` of a git source: the commit (or a prefix of it) the ref must resolve to. */
  readonly checksum: string | undefined;
}

/** The remote, ref and subdir of a git source; attrs win over the remote's `#ref:subdir` fragment. */
export function gitSpec(op: SourceOp, remote: string): GitSpec {
  const parsed: GitRemote = parseRemote(remote);
  const attrs = op.attrs ?? {};
  const keep = attrs.keepGitDir;
  if (keep !== undefined && keep !== 'true' && keep !== 'false') {
    throw new InvalidArgumentError(
      `git source: keepGitDir must be true or false, got ${JSON.stringify(keep)}`,
    );
  }
  const checksum = attrs.checksum?.toLowerCase();
  if (checksum !== undefined && !/^[0-9a-f]{4,64}$/u.test(checksum)) {
    throw new InvalidArgumentError(
      `git source: checksum ${JSON.stringify(attrs.checksum)} is not a commit id (or a prefix of one)`,
    );
  }
  return {
    url: parsed.url,
    ref: checkRef(attrs.ref ?? parsed.ref),
    subdir: checkSubdir(attrs.subdir ?? parsed.subdir),
    keepGitDir: keep === 'true',
    checksum,
  };
}

const exists = (path: string): Promise<boolean> =>
  lstat(path).then(
    () => true,
    () => false,
  );

/** Fetches `resolved.commit` into a new repository in `dir` and checks it out. */
async function checkout(
  spec: GitSpec,
  resolved: ResolvedRef,
  dir: string,
  signal: AbortSignal,
): Promise<void> {
  const git = (...args: string[]): Promise<string> => runGit(args, { cwd: dir, signal });
  await git('init', '-q');
  await git('remote', 'add', 'origin', spec.url);
  const fetchOne = async (what: string): Promise<boolean> => {
    try {
      await git('fetch', '-q', '--depth=1', '--no-tags', 'origin', what);
    } catch (err) {
      if (err instanceof TsbuildError && err.code === 'CANCELLED') throw err;
      return false;
    }
    const head = (await git('rev-parse', 'FETCH_HEAD^{commit}')).trim();
    return head === resolved.commit;
  };
  // By ref name first (every server allows it); by commit when the ref moved since it was resolved
  // or when a commit was asked for; the whole history as the last resort (servers that refuse wants
  // of unadvertised commits).
  let found = resolved.refName !== undefined && (await fetchOne(resolved.refName));
  if (!found) found = await fetchOne(resolved.commit);
  if (!found) {
    await git('fetch', '-q', '--tags', 'origin', '+refs/heads/*:refs/remotes/origin/*');
    const type = await git('cat-file', '-t', resolved.commit).catch(() => '');
    if (type.trim() !== 'commit') {
      throw new TsbuildError(
        'NOT_FOUND',
        `git source: commit ${resolved.commit} not found in ${redactRemote(spec.url)}`,
      );
    }
  }
  await git('checkout', '-q', '--detach', resolved.commit);
  // Submodules, as BuildKit: each at the commit the checkout records, shallow.
  if (await exists(join(dir, '.gitmodules'))) {
    await git('submodule', 'update', '--init', '--recursive', '--depth=1');
    if (!spec.keepGitDir) {
      const paths = await git('submodule', 'foreach', '--recursive', '--quiet', 'echo "$displaypath"');
      for (const p of paths.split('\n').filter((l) => l !== '')) {
        await rm(join(dir, checkSubdir(p), '.git'), { recursive: true, force: true });
      }
    }
  }
  // A kept .git must not carry the remote's credentials into the image.
  if (spec.keepGitDir && redactRemote(spec.url) !== spec.url) {
    await git('remote', 'set-url', 'origin', redactRemote(spec.url));
  }
}

class GitSource {
  private resolved: ResolvedRef | undefined;

  constructor(
    private readonly spec: GitSpec,
    private readonly digest: string,
    private readonly deps: SourceDeps,
  ) {}

  private async resolve(signal: AbortSignal): Promise<ResolvedRef> {
    this.resolved ??= await resolveRef(this.spec.url, this.spec.ref, signal);
    return this.resolved;
  }

  cacheMap = async (ctx: OpContext): Promise<CacheMap> => {
    // Resolved at every solve: a branch that moved gives another key.
    this.resolved = undefined;
    const { commit } = await this.resolve(ctx.signal);
    const { checksum } = this.spec;
    if (checksum !== undefined && !commit.startsWith(checksum)) {
      throw new FailedPreconditionError(
        `git source: checksum mismatch for ${redactRemote(this.spec.url)}: expected ${checksum}, got ${commit}`,
      );
    }
    return { digest: sha(this.digest, commit), deps: [] };
  };

  exec = async (ctx: OpContext): Promise<WorkerResult[]> => {
    const resolved = await this.resolve(ctx.signal);
    const work = await mkdtemp(join(tmpdir(), 'tsbuild-git-'));
    try {
      await checkout(this.spec, resolved, work, ctx.signal);
      if (!this.spec.keepGitDir) await rm(join(work, '.git'), { recursive: true, force: true });
      const result = await this.deps.newSnapshot(ctx.signal, (dest) =>
        applyFileActions([wholeTreeCopy(0, { srcPath: `/${this.spec.subdir}`, followSymlinks: true })], {
          dest,
          inputs: (i) => (i === 0 ? work : undefined),
          signal: ctx.signal,
        }),
      );
      return [result];
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  };
}

/** The solver op of a `git:` source. */
export function gitSourceOp(op: SourceOp, remote: string, digest: string, deps: SourceDeps): Op {
  const source = new GitSource(gitSpec(op, remote), digest, deps);
  return { lane: 'network', cacheMap: source.cacheMap, exec: source.exec };
}
