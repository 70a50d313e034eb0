/**
 * resolveFileOwner: the owner a file op (COPY --chown, WORKDIR under USER) gives, by BuildKit's file-op
 * rules (an unknown user is 0:0, an unknown group keeps the user part's gid), against resolveUser's for a
 * process (an unknown name is an error). The user database is read inside the root and never blocks.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveFileOwner, resolveUser } from '../../executor/user.js';

const work = mkdtempSync(join(tmpdir(), 'tsbuild-file-owner-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function rootfs(name: string, files: Record<string, string> = {}): string {
  const root = join(work, name);
  mkdirSync(join(root, 'etc'), { recursive: true });
  for (const [path, text] of Object.entries(files)) writeFileSync(join(root, path), text);
  return root;
}

const root = rootfs('db', {
  'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n',
  'etc/group': 'root:x:0:\nstaff:x:50:app\n',
});

describe('resolveFileOwner', () => {
  it('resolves names found in the database', async () => {
    expect(await resolveFileOwner(root, { user: 'app' })).toEqual({ uid: 1000, gid: 1001 });
    expect(await resolveFileOwner(root, { user: 'app', group: 'staff' })).toEqual({ uid: 1000, gid: 50 });
    expect(await resolveFileOwner(root, { user: 7, group: 'staff' })).toEqual({ uid: 7, gid: 50 });
  });

  it('gives a numeric user alone its own id as gid, numeric strings included', async () => {
    expect(await resolveFileOwner(root, { user: 1000 })).toEqual({ uid: 1000, gid: 1000 });
    expect(await resolveFileOwner(root, { user: '42', group: '43' })).toEqual({ uid: 42, gid: 43 });
  });

  it('makes an unknown user 0:0 and lets an unknown group keep the gid of the user part', async () => {
    expect(await resolveFileOwner(root, { user: 'ghost' })).toEqual({ uid: 0, gid: 0 });
    expect(await resolveFileOwner(root, { user: 'ghost', group: 'nogroup' })).toEqual({ uid: 0, gid: 0 });
    expect(await resolveFileOwner(root, { user: 'ghost', group: 'staff' })).toEqual({ uid: 0, gid: 50 });
    expect(await resolveFileOwner(root, { user: 'app', group: 'nogroup' })).toEqual({ uid: 1000, gid: 1001 });
    expect(await resolveFileOwner(root, { user: 4242, group: 'nogroup' })).toEqual({ uid: 4242, gid: 4242 });
    expect(await resolveFileOwner(root, { user: 'ghost', group: 77 })).toEqual({ uid: 0, gid: 77 });
  });

  it('treats a missing database (no file, no /etc) as one without the name', async () => {
    const bare = mkdtempSync(join(work, 'bare-'));
    expect(await resolveFileOwner(bare, { user: 'app', group: 'staff' })).toEqual({ uid: 0, gid: 0 });
    const etcFile = mkdtempSync(join(work, 'etcfile-'));
    writeFileSync(join(etcFile, 'etc'), 'not a directory');
    expect(await resolveFileOwner(etcFile, { user: 'app' })).toEqual({ uid: 0, gid: 0 });
  });

  it('refuses a database that is not a regular file, without blocking on a FIFO', async () => {
    const dir = rootfs('dir-passwd');
    mkdirSync(join(dir, 'etc/passwd'));
    await expect(resolveFileOwner(dir, { user: 'app' })).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
      message: expect.stringMatching(/\/etc\/passwd is not a regular file/u) as unknown,
    });
    const fifo = rootfs('fifo-group');
    execFileSync('mkfifo', [join(fifo, 'etc/group')]);
    await expect(resolveFileOwner(fifo, { user: 0, group: 'staff' })).rejects.toThrow(/not a regular file/u);
    // Numeric parts never read the database.
    expect(await resolveFileOwner(fifo, { user: 3, group: 4 })).toEqual({ uid: 3, gid: 4 });
    // A process treats it as absent, as BuildKit's executor does (and does not hang either).
    await expect(resolveUser(fifo, 'app:staff')).rejects.toThrow(/unable to find user app/u);
  });

  it('follows a symlinked database inside the root only', async () => {
    const linked = rootfs('linked', { 'etc/real': 'app:x:5:6::/:/bin/sh\n' });
    symlinkSync('/etc/real', join(linked, 'etc/passwd'));
    expect(await resolveFileOwner(linked, { user: 'app' })).toEqual({ uid: 5, gid: 6 });
    const escape = rootfs('escape');
    symlinkSync(`../../../../../../..${join(root, 'etc/passwd')}`, join(escape, 'etc/passwd'));
    expect(await resolveFileOwner(escape, { user: 'app' })).toEqual({ uid: 0, gid: 0 });
  });
});

describe('resolveUser (a process) keeps failing on unknown names', () => {
  it('names the user or group it cannot find', async () => {
    await expect(resolveUser(root, 'ghost')).rejects.toThrow(
      'unable to find user ghost: no matching entries in passwd file',
    );
    await expect(resolveUser(root, 'app:nogroup')).rejects.toThrow(
      'unable to find group nogroup: no matching entries in group file',
    );
  });
});

describe('resolveUser (a process) follows BuildKit executor rules for groups', () => {
  it('gives supplementary groups only to a user without an explicit group', async () => {
    expect(await resolveUser(root, 'app')).toMatchObject({ gid: 1001, additionalGids: [50] });
    expect(await resolveUser(root, 'app:staff')).toMatchObject({ gid: 50, additionalGids: [] });
    expect(await resolveUser(root, 'app:root')).toMatchObject({ gid: 0, additionalGids: [] });
    expect(await resolveUser(root, '1000:1001')).toMatchObject({ uid: 1000, gid: 1001, additionalGids: [] });
  });

  it('takes uid:gid (root for 0) as it is, with no user database', async () => {
    const bare = mkdtempSync(join(work, 'bare-exec-'));
    expect(await resolveUser(bare, 'root:root')).toEqual({ uid: 0, gid: 0, additionalGids: [], home: '/' });
    expect(await resolveUser(bare, '7:root')).toMatchObject({ uid: 7, gid: 0 });
    await expect(resolveUser(bare, 'root')).rejects.toThrow('unable to find user root');
  });
});
