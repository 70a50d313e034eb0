/**
 * ContainedSource: directories of a host tree are opened only when they are where their path says
 * (no symlink on the way), files only when they are the file lstat saw; roots spelled with a trailing
 * slash, relatively or through a symlink work the same.
 */
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContainedSource } from '../../fsutil/treecopy-source.js';

const work = mkdtempSync(join(tmpdir(), 'tsbuild-contained-'));
const root = join(work, 'root');

describe('ContainedSource', () => {
  beforeAll(() => {
    mkdirSync(join(root, 'dir', 'sub'), { recursive: true });
    mkdirSync(join(work, 'outside'));
    writeFileSync(join(root, 'dir', 'f.txt'), 'inside');
    writeFileSync(join(work, 'outside', 'f.txt'), 'outside');
    symlinkSync(join(work, 'outside'), join(root, 'out-link'));
    symlinkSync('dir', join(root, 'dir-link'));
    symlinkSync('f.txt', join(root, 'dir', 'file-link'));
    symlinkSync(root, join(work, 'root-link'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('opens directories inside the root, however the root is spelled', () => {
    for (const spelled of [root, `${root}/`, relative(process.cwd(), root), join(work, 'root-link')]) {
      const source = new ContainedSource(spelled);
      const dir = source.openDir(join(spelled, 'dir'));
      try {
        expect(readdirSync(dir.path).sort()).toEqual(['f.txt', 'file-link', 'sub']);
        expect(lstatSync(`${dir.path}/file-link`).isSymbolicLink()).toBe(true);
      } finally {
        dir.close();
      }
      source.openDir(spelled).close();
    }
  });

  it('refuses a directory reached through a symlink, at the end of the path or on the way', () => {
    const source = new ContainedSource(root);
    expect(() => source.openDir(join(root, 'out-link'))).toThrow(/changed while the build was reading it/);
    expect(() => source.openDir(join(root, 'dir-link'))).toThrow(/changed while the build was reading it/);
    expect(() => source.openDir(join(root, 'dir-link', 'sub'))).toThrow(
      /changed while the build was reading it/,
    );
  });

  it('opens a file only as the file lstat saw, never through a symlink', () => {
    const source = new ContainedSource(root);
    const file = source.openFileAt(join(root, 'dir', 'f.txt'));
    try {
      expect(readFileSync(file.path, 'utf8')).toBe('inside');
    } finally {
      file.close();
    }
    expect(() => source.openFileAt(join(root, 'dir', 'file-link'))).toThrow(/changed while/);
    expect(() => source.openFileAt(join(root, 'out-link', 'f.txt'))).toThrow(/changed while/);
    const other = lstatSync(join(work, 'outside', 'f.txt'), { bigint: true });
    const dir = source.openDir(join(root, 'dir'));
    try {
      expect(() => source.openFile(`${dir.path}/f.txt`, other, join(root, 'dir', 'f.txt'))).toThrow(
        /changed while/,
      );
    } finally {
      dir.close();
    }
  });
});
