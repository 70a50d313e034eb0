/**
 * User and group resolution from the rootfs's /etc/passwd and /etc/group, the way docker and BuildKit
 * do it: 'name', 'uid', 'uid:gid', 'name:group'. A name that is not found is an error; a numeric id
 * needs no entry. Supplementary groups are the groups that list the user's name as a member.
 */
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, NotFoundError } from '../core/errors.js';
import { resolveInRoot } from './rootpath.js';

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

async function readLines(rootfs: string, path: string): Promise<string[][]> {
  let text: string;
  try {
    text = await readFile(await resolveInRoot(rootfs, path), 'utf8');
  } catch {
    return [];
  }
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

async function readPasswd(rootfs: string): Promise<PasswdEntry[]> {
  const rows = await readLines(rootfs, '/etc/passwd');
  return rows
    .filter((f) => f.length >= 4 && ID.test(f[2] ?? '') && ID.test(f[3] ?? ''))
    .map((f) => ({ name: f[0] ?? '', uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '' }));
}

async function readGroup(rootfs: string): Promise<GroupEntry[]> {
  const rows = await readLines(rootfs, '/etc/group');
  return rows
    .filter((f) => f.length >= 3 && ID.test(f[2] ?? ''))
    .map((f) => ({
      name: f[0] ?? '',
      gid: Number(f[2]),
      members: (f[3] ?? '').split(',').filter((m) => m !== ''),
    }));
}

/** Resolves `spec` (default root) against the rootfs's user database. */
export async function resolveUser(rootfs: string, spec = ''): Promise<ResolvedUser> {
  const colon = spec.indexOf(':');
  const userPart = colon < 0 ? spec : spec.slice(0, colon);
  const groupPart = colon < 0 ? '' : spec.slice(colon + 1);
  if (userPart === '' && groupPart === '' && spec !== '')
    throw new InvalidArgumentError(`invalid user ${JSON.stringify(spec)}`);

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
  if (entry !== undefined) {
    const name = entry.name;
    for (const g of groups) {
      if (g.members.includes(name) && g.gid !== gid && !additionalGids.includes(g.gid))
        additionalGids.push(g.gid);
    }
  }
  const home = entry !== undefined && entry.home !== '' ? entry.home : '/';
  return { uid, gid, additionalGids, home };
}
