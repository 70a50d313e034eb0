/**
 * mkfile writes the bytes its data stands for: an escaped byte (core/utf8.ts, a heredoc body that was
 * not UTF-8) is that byte, as BuildKit writes the raw body; the rest is UTF-8.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkfileAction } from '../../worker/fileop/actions.js';

let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'mkfile-bytes-'));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('mkfile data', () => {
  it('writes escaped bytes as themselves and other text as UTF-8', async () => {
    await mkfileAction(root, { action: 'mkfile', path: '/f', mode: 0o644, data: 'Jos\udce9 é\udcb1\n' });
    expect(readFileSync(join(root, 'f'))).toEqual(
      Buffer.concat([Buffer.from('Jos'), Buffer.from([0xe9]), Buffer.from(' é'), Buffer.from([0xb1, 0x0a])]),
    );
  });
});
