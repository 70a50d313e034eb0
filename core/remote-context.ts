/**
 * Which kind of remote build context a `tsbuild build <context>` argument names, by buildx's and
 * BuildKit's rules (dfgitutil.ParseGitRef, then DetectHTTPContext): a git repository for `git://`,
 * `ssh://` (`git+ssh://`, `ssh+git://`), `user@host:path`, `github.com/…` and an http(s) URL whose path
 * ends in `.git` (`#ref:dir` picks the commit and the directory); any other http(s) URL is a file to
 * download (a tarball, or the Dockerfile itself). Here because the CLI (which decides where a build
 * runs) may import only core/.
 */

/** `user@host:path`, git's scp-like remote (not `user@host://…`). */
export const SCP_LIKE_REMOTE = /^[A-Za-z0-9._~-]+@[A-Za-z0-9.-]+:(?!\/\/)/u;

export type RemoteContextKind = 'git' | 'http';

/** The kind of remote context `context` names; undefined for a local path. */
export function remoteContextKind(context: string): RemoteContextKind | undefined {
  if (/^(?:git|ssh|git\+ssh|ssh\+git):\/\//iu.test(context)) return 'git';
  if (SCP_LIKE_REMOTE.test(context) || context.startsWith('github.com/')) return 'git';
  if (!/^https?:\/\//iu.test(context)) return undefined;
  let path: string;
  try {
    path = new URL(context).pathname;
  } catch {
    return 'http'; // not a valid URL: its download fails with the reason
  }
  return path.endsWith('.git') ? 'git' : 'http';
}
