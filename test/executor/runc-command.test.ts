import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runcCommand } from '../../executor/runc-common.js';

// A stand-in for the runc binary (unit test: only the error mapping is pinned here; the executor's
// and the runner's integration tests run the real runc).
const dir = mkdtempSync(join(tmpdir(), 'tsbuild-runc-command-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fake = join(dir, 'runc');
writeFileSync(
  fake,
  [
    '#!/bin/sh',
    'shift 2 # --root DIR',
    'case "$1" in',
    '  list) echo "listed $#"; exit 0 ;;',
    '  kill) echo "container does not exist" >&2; exit 1 ;;',
    '  pause) echo "something else broke" >&2; exit 1 ;;',
    '  state) sleep 5 ;;',
    'esac',
  ].join('\n'),
);
chmodSync(fake, 0o755);

describe('runcCommand', () => {
  it("gives runc's stdout, run on the state directory", async () => {
    expect(await runcCommand(fake, dir, ['list', '-q'])).toBe('listed 2\n');
  });
  it('maps a container that is not there to NOT_FOUND', async () => {
    await expect(runcCommand(fake, dir, ['kill', 'c1', 'KILL'])).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: 'runc kill: container does not exist',
    });
  });
  it("maps runc's other failures to INTERNAL with what it printed", async () => {
    await expect(runcCommand(fake, dir, ['pause', 'c1'])).rejects.toMatchObject({
      code: 'INTERNAL',
      message: 'runc pause: something else broke',
    });
  });
  it('says that runc is missing', async () => {
    await expect(runcCommand(join(dir, 'no-runc'), dir, ['list'])).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
    });
  });
  it('is cancelled by its signal', async () => {
    const controller = new AbortController();
    const pending = runcCommand(fake, dir, ['state', 'c1'], controller.signal);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});
