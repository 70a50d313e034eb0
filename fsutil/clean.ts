/**
 * Lexical path cleaning with the semantics of Go's `path/filepath.Clean` on Linux, and the forms
 * built on it for names kept inside a root.
 */

/** Lexically shortest equivalent of `path` ('/' separated), exactly as Go's `filepath.Clean`. */
export function clean(path: string): string {
  if (path === '') return '.';
  const rooted = path.startsWith('/');
  const kept: string[] = [];
  for (const element of path.split('/')) {
    if (element === '' || element === '.') continue;
    if (element !== '..') {
      kept.push(element);
    } else if (kept.length > 0 && kept[kept.length - 1] !== '..') {
      kept.pop();
    } else if (!rooted) {
      kept.push('..');
    }
  }
  const joined = kept.join('/');
  if (rooted) return `/${joined}`;
  return joined === '' ? '.' : joined;
}

/**
 * A name inside a root, cleaned as if the root were `/` and made relative: `/a/./b//c/` → `a/b/c`,
 * `../../a/b/../c` → `a/c` (a leading `/` and `..` never leave the root); '' for the root itself.
 */
export function cleanRel(name: string): string {
  return clean(`/${name}`).slice(1);
}

/** Everything but the last element of `path`, cleaned; '.' when there is no '/' (Go's `filepath.Dir`). */
export function dirName(path: string): string {
  return clean(path.slice(0, path.lastIndexOf('/') + 1));
}

/** [`a/b`, `c`] for the cleaned relative `a/b/c`; ['', `c`] for `c`. */
export function splitName(cleaned: string): [string, string] {
  const i = cleaned.lastIndexOf('/');
  return i < 0 ? ['', cleaned] : [cleaned.slice(0, i), cleaned.slice(i + 1)];
}

/** Joins a root and a cleaned relative path ('' is the root itself). */
export function joinRoot(root: string, rel: string): string {
  return rel === '' ? root : `${root}/${rel}`;
}
