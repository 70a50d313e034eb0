/**
 * Filesystem trees from tar files (the `type=tar` exports of both builders) and their comparison: per
 * path the type, content sha256, mode (with setuid, setgid and sticky), uid/gid, symlink target,
 * hardlink group and xattrs. Not mtimes. The contents of /proc, /sys and /dev are ignored (the
 * directories themselves are compared).
 *
 * Hardlinks: a tar names the first path of a group as a file and the others as links to it; which path
 * comes first depends on the walk order, so a path's hardlink "target" is compared as the sorted set of
 * the other paths in its group.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import tar from 'tar-stream';
import type { Header } from 'tar-stream';

export type EntryKind = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'other';

export interface TreeEntry {
  readonly kind: EntryKind;
  /** Permission bits with setuid (0o4000), setgid (0o2000) and sticky (0o1000). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  /** sha256 of the content (regular files). */
  sha256?: string;
  readonly symlink?: string;
  readonly device?: string;
  /** Other paths with the same inode (sorted), when any. */
  hardlinks?: string[];
  readonly xattrs?: Readonly<Record<string, string>>;
}

export type Tree = Map<string, TreeEntry>;

const IGNORED_CONTENTS = ['proc/', 'sys/', 'dev/'];

/** `./a/b/`, `/a/b` and `a/b` all become `/a/b`; the root is `/`. */
export function normalizePath(name: string): string {
  let p = name.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
  if (p === '.' || p === '') return '/';
  p = p.replace(/\/+/g, '/');
  return `/${p}`;
}

export function isIgnored(path: string): boolean {
  const rel = path.slice(1);
  return IGNORED_CONTENTS.some((prefix) => rel.startsWith(prefix));
}

function kindOf(type: Header['type']): EntryKind {
  switch (type) {
    case 'file':
    case 'contiguous-file':
      return 'file';
    case 'directory':
      return 'dir';
    case 'symlink':
      return 'symlink';
    case 'character-device':
      return 'char';
    case 'block-device':
      return 'block';
    case 'fifo':
      return 'fifo';
    default:
      return 'other';
  }
}

function xattrsOf(header: Header): Record<string, string> | undefined {
  const pax = header.pax as Record<string, string> | null | undefined;
  if (!pax) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(pax)) {
    if (k.startsWith('SCHILY.xattr.'))
      out[k.slice('SCHILY.xattr.'.length)] = Buffer.from(v, 'latin1').toString('hex');
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Calls `onEntry` for each entry of a tar file, in order; it must consume `content`. */
export async function forEachEntry(
  file: string,
  onEntry: (header: Header, content: AsyncIterable<Buffer>) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const extract = tar.extract();
  const source = createReadStream(file, signal === undefined ? {} : { signal });
  source.on('error', (err) => extract.destroy(err));
  source.pipe(extract as unknown as NodeJS.WritableStream);
  for await (const entry of extract) {
    await onEntry(entry.header, entry as AsyncIterable<Buffer>);
  }
}

/** Reads a tar file into a tree (later entries for the same path win, as on extraction). */
export async function readTree(file: string, options: { signal?: AbortSignal } = {}): Promise<Tree> {
  const tree: Tree = new Map();
  const links: [string, string][] = [];
  await forEachEntry(
    file,
    async (header, content) => {
      const path = normalizePath(header.name);
      const hash = createHash('sha256');
      for await (const chunk of content) hash.update(chunk);
      if (header.type === 'link') {
        links.push([path, normalizePath(header.linkname ?? '')]);
        return;
      }
      const kind = kindOf(header.type);
      const device =
        kind === 'char' || kind === 'block' ? `${header.devmajor ?? 0}:${header.devminor ?? 0}` : undefined;
      const xattrs = xattrsOf(header);
      tree.set(path, {
        kind,
        mode: (header.mode ?? 0) & 0o7777,
        uid: header.uid ?? 0,
        gid: header.gid ?? 0,
        size: header.size ?? 0,
        ...(kind === 'file' ? { sha256: hash.digest('hex') } : {}),
        ...(kind === 'symlink' ? { symlink: header.linkname ?? '' } : {}),
        ...(device !== undefined ? { device } : {}),
        ...(xattrs !== undefined ? { xattrs } : {}),
      });
    },
    options.signal,
  );
  resolveHardlinks(tree, links);
  for (const path of [...tree.keys()]) if (isIgnored(path)) tree.delete(path);
  return tree;
}

/** Each link becomes a copy of its target's entry; every member of a group lists the others. */
function resolveHardlinks(tree: Tree, links: readonly [string, string][]): void {
  const groups = new Map<string, Set<string>>();
  for (const [path, target] of links) {
    const entry = tree.get(target);
    if (entry === undefined) continue;
    tree.set(path, { ...entry });
    const group = groups.get(target) ?? new Set([target]);
    group.add(path);
    groups.set(target, group);
  }
  for (const group of groups.values()) {
    for (const member of group) {
      const entry = tree.get(member);
      if (entry) entry.hardlinks = [...group].filter((m) => m !== member).sort();
    }
  }
}

export interface TreeDifference {
  readonly path: string;
  /** `missing` (only on the left: tsbuild lacks it), `extra` (only on the right), or the field that differs. */
  readonly field: string;
  readonly left: string;
  readonly right: string;
}

function describe(entry: TreeEntry | undefined): string {
  if (!entry) return '(absent)';
  return `${entry.kind} ${entry.mode.toString(8).padStart(4, '0')} ${entry.uid}:${entry.gid}`;
}

const FIELDS: readonly (keyof TreeEntry)[] = [
  'kind',
  'mode',
  'uid',
  'gid',
  'sha256',
  'symlink',
  'device',
  'hardlinks',
  'xattrs',
];

function show(field: keyof TreeEntry, value: unknown): string {
  if (value === undefined) return '(none)';
  if (field === 'mode') return (value as number).toString(8).padStart(4, '0');
  return typeof value === 'string' || typeof value === 'number' ? String(value) : JSON.stringify(value);
}

/** Differences between `left` (the reference, BuildKit) and `right` (tsbuild), sorted by path. */
export function compareTrees(left: Tree, right: Tree): TreeDifference[] {
  const out: TreeDifference[] = [];
  const paths = [...new Set([...left.keys(), ...right.keys()])].sort();
  for (const path of paths) {
    const l = left.get(path);
    const r = right.get(path);
    if (!l || !r) {
      out.push({ path, field: l ? 'missing' : 'extra', left: describe(l), right: describe(r) });
      continue;
    }
    for (const field of FIELDS) {
      if (field === 'mode' && l.kind === 'symlink' && r.kind === 'symlink') continue; // Linux ignores it
      const a = show(field, l[field]);
      const b = show(field, r[field]);
      if (a !== b) out.push({ path, field, left: a, right: b });
    }
  }
  return out;
}
