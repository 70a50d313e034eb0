/**
 * User and group resolution from the rootfs's /etc/passwd and /etc/group, the way docker and BuildKit
 * do it: 'name', 'uid', 'uid:gid', 'name:group'. For a process (RUN) a name that is not found is an
 * error; a numeric id needs no entry. Supplementary groups are the groups that list the user's name as a
 * member. A file op's owner (COPY --chown, WORKDIR under USER) follows BuildKit's other, lenient rules:
 * see resolveFileOwner.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../core/index.js';
import { resolveInRoot } from '../fsutil/index.js';

export interface ResolvedUser {
  readonly uid: number;
  readonly gid: number;
  readonly additionalGids: readonly number[];
  readonly home: string;
}

interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

interface GroupEntry {
  readonly name: string;
  readonly gid: number;
  readonly members: readonly string[];
}

const ID = /^\d+$/;
const MAX_ID = 2 ** 32 - 2;

/** BuildKit reads at most this much of a user database. */
const MAX_USER_FILE = 10 << 20;
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW;

/**
 * The text of `path` in the rootfs; undefined when it is missing (or a parent is not a directory). Not
 * a regular file, or over 10 MiB: an error. Opened without blocking (a FIFO never hangs the build) and
 * without following a final symlink (resolveInRoot has resolved them inside the root). Synchronous, as
 * the rootfs walks are: a few microseconds against a thread-pool round trip per call.
 */
async function readUserFile(rootfs: string, path: string): Promise<string | undefined> {
  let fd: number;
  try {
    fd = openSync(resolveInRoot(rootfs, path), OPEN_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new FailedPreconditionError(`cannot open ${path}: ${code ?? 'error'}`, { cause: err });
  }
  try {
    if (!fstatSync(fd).isFile()) throw new FailedPreconditionError(`${path} is not a regular file`);
    const chunks: Buffer[] = [];
    let length = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(64 * 1024);
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      chunks.push(chunk.subarray(0, read));
      length += read;
      if (length > MAX_USER_FILE) throw new FailedPreconditionError(`${path} exceeds ${MAX_USER_FILE} bytes`);
    }
    return Buffer.concat(chunks, length).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * The entries of a user database as fields. A process treats a file it cannot read as absent (as
 * BuildKit's executor does); a file op (`strict`) fails on one that is there but is no regular file.
 */
async function readLines(rootfs: string, path: string, strict = false): Promise<string[][]> {
  let text: string | undefined;
  try {
    text = await readUserFile(rootfs, path);
  } catch (err) {
    if (strict) throw err;
  }
  if (text === undefined) return [];
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => line.split(':'));
}

function parseId(text: string, what: string): number {
  const n = Number(text);
  if (!ID.test(text) || n > MAX_ID)
    throw new InvalidArgumentError(`invalid ${what} id ${JSON.stringify(text)}`);
  return n;
}

async function readPasswd(rootfs: string, strict = false): Promise<PasswdEntry[]> {
  const rows = await readLines(rootfs, '/etc/passwd', strict);
  return rows
    .filter((f) => f.length >= 4 && ID.test(f[2] ?? '') && ID.test(f[3] ?? ''))
    .map((f) => ({ name: f[0] ?? '', uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '' }));
}

async function readGroup(rootfs: string, strict = false): Promise<GroupEntry[]> {
  const rows = await readLines(rootfs, '/etc/group', strict);
  return rows
    .filter((f) => f.length >= 3 && ID.test(f[2] ?? ''))
    .map((f) => ({
      name: f[0] ?? '',
      gid: Number(f[2]),
      members: (f[3] ?? '').split(',').filter((m) => m !== ''),
    }));
}

const homeOf = (entry: PasswdEntry | undefined): string =>
  entry !== undefined && entry.home !== '' ? entry.home : '/';

/**
 * `uid:gid` with both parts numbers (or `root`): taken as they are, with no supplementary groups, as
 * BuildKit's executor takes them (its ParseUIDGID fast path) even with no user database.
 */
async function numericUser(rootfs: string, userPart: string, groupPart: string): Promise<ResolvedUser> {
  const uid = userPart === 'root' ? 0 : parseId(userPart, 'user');
  const gid = groupPart === 'root' ? 0 : parseId(groupPart, 'group');
  const entry = (await readPasswd(rootfs)).find((p) => p.uid === uid);
  return { uid, gid, additionalGids: [], home: homeOf(entry) };
}

const ID_OR_ROOT = /^(?:\d+|root)$/;

/**
 * Resolves `spec` (default root) against the rootfs's user database, as BuildKit's executor does
 * (moby/sys/user): supplementary groups only for a user without an explicit group.
 */
export async function resolveUser(rootfs: string, spec = ''): Promise<ResolvedUser> {
  const colon = spec.indexOf(':');
  const userPart = colon < 0 ? spec : spec.slice(0, colon);
  const groupPart = colon < 0 ? '' : spec.slice(colon + 1);
  if (userPart === '' && groupPart === '' && spec !== '')
    throw new InvalidArgumentError(`invalid user ${JSON.stringify(spec)}`);
  if (colon >= 0 && ID_OR_ROOT.test(userPart) && ID_OR_ROOT.test(groupPart))
    return numericUser(rootfs, userPart, groupPart);

  const passwd = await readPasswd(rootfs);
  let entry: PasswdEntry | undefined;
  let uid = 0;
  if (userPart === '') {
    entry = passwd.find((p) => p.uid === 0);
  } else if (ID.test(userPart)) {
    uid = parseId(userPart, 'user');
    entry = passwd.find((p) => p.uid === uid);
  } else {
    entry = passwd.find((p) => p.name === userPart);
    if (entry === undefined)
      throw new NotFoundError(`unable to find user ${userPart}: no matching entries in passwd file`);
    uid = entry.uid;
  }

  const groups = await readGroup(rootfs);
  let gid = entry?.gid ?? 0;
  if (groupPart !== '') {
    if (ID.test(groupPart)) gid = parseId(groupPart, 'group');
    else {
      const group = groups.find((g) => g.name === groupPart);
      if (group === undefined)
        throw new NotFoundError(`unable to find group ${groupPart}: no matching entries in group file`);
      gid = group.gid;
    }
  }

  const additionalGids: number[] = [];
  if (entry !== undefined && groupPart === '') {
    const name = entry.name;
    for (const g of groups) {
      if (g.members.includes(name) && g.gid !== gid && !additionalGids.includes(g.gid))
        additionalGids.push(g.gid);
    }
  }
  return { uid, gid, additionalGids, home: homeOf(entry) };
}

/** An owner as a file op names it (llb's Chown): each part an id, or a name looked up in the rootfs. */
export interface OwnerSpec {
  readonly user: number | string;
  readonly group?: number | string;
}

/** A numeric id (a number, or a string of digits), else undefined for a name. */
function idOf(value: number | string): number | undefined {
  if (typeof value === 'number') return value;
  return ID.test(value) ? parseId(value, 'owner') : undefined;
}

/**
 * The uid and gid a file op gives what it writes, by BuildKit's rules for file ops (its readUser), which
 * are not a process's: a user name that is not in /etc/passwd (or with no such file) is 0:0; a group name
 * that is not in /etc/group (or with no such file) leaves the gid the user part gave; a numeric user with
 * no group is uid:uid; a user name alone takes its entry's gid. Only a process must run as a user that
 * exists. A user database that is there but not a regular file is an error.
 */
export async function resolveFileOwner(
  rootfs: string,
  spec: OwnerSpec,
): Promise<{ readonly uid: number; readonly gid: number }> {
  let uid = 0;
  let gid = 0;
  const userId = idOf(spec.user);
  if (userId !== undefined) {
    uid = userId;
    gid = userId;
  } else {
    const entry = (await readPasswd(rootfs, true)).find((p) => p.name === spec.user);
    if (entry !== undefined) ({ uid, gid } = entry);
  }
  if (spec.group !== undefined) {
    const groupId = idOf(spec.group);
    if (groupId !== undefined) gid = groupId;
    else {
      const group = (await readGroup(rootfs, true)).find((g) => g.name === spec.group);
      if (group !== undefined) gid = group.gid;
    }
  }
  return { uid, gid };
}
