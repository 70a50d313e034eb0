/**
 * compileLocalFilter: a local source's include/exclude patterns as the filter of what the build sees,
 * with BuildKit's context-transfer semantics: a directory that is excluded (or not included) but may hold
 * a re-included (or included) entry is walked ('descend') and kept only for what is kept under it.
 */
import { describe, expect, it } from 'vitest';
import { compileLocalFilter } from '../../engine/open.js';

function decide(include: string[], exclude: string[], paths: [string, boolean][]): Record<string, unknown> {
  const filter = compileLocalFilter(include, exclude);
  if (filter === undefined) throw new Error('no filter');
  return Object.fromEntries(paths.map(([p, isDir]) => [p, filter(p, isDir)]));
}

describe('compileLocalFilter', () => {
  it('walks down to a file a `!**/name` pattern re-includes two levels under an excluded directory', () => {
    expect(
      decide(
        [],
        ['volume/', '!**/oneline.txt'],
        [
          ['volume', true],
          ['volume/data', true],
          ['volume/data/oneline.txt', false],
          ['volume/data/other.txt', false],
          ['volume/data/deeper', true],
          ['volume/data/deeper/oneline.txt', false],
          ['volume/skip.txt', false],
          ['top.txt', false],
        ],
      ),
    ).toEqual({
      volume: 'descend',
      'volume/data': 'descend',
      'volume/data/oneline.txt': true,
      'volume/data/other.txt': false,
      'volume/data/deeper': 'descend',
      'volume/data/deeper/oneline.txt': true,
      'volume/skip.txt': false,
      'top.txt': true,
    });
  });

  it('walks only what a re-include below `**` can reach', () => {
    expect(
      decide(
        [],
        ['logs', '!logs/**/keep.log'],
        [
          ['logs', true],
          ['logs/a/b', true],
          ['logs/a/b/keep.log', false],
          ['logs/a/b/x.log', false],
          ['other', true],
        ],
      ),
    ).toEqual({
      logs: 'descend',
      'logs/a/b': 'descend',
      'logs/a/b/keep.log': true,
      'logs/a/b/x.log': false,
      other: true,
    });
  });

  it('walks the directories on the way to an include pattern without keeping them for themselves', () => {
    expect(
      decide(
        ['src/**/main.go', 'docs/readme.md'],
        [],
        [
          ['src', true],
          ['src/a/b', true],
          ['src/a/b/main.go', false],
          ['src/a/b/other.go', false],
          ['docs', true],
          ['docs/readme.md', false],
          ['docs/sub', true],
          ['other', true],
        ],
      ),
    ).toEqual({
      src: 'descend',
      'src/a/b': 'descend',
      'src/a/b/main.go': true,
      'src/a/b/other.go': false,
      docs: 'descend',
      'docs/readme.md': true,
      'docs/sub': false,
      other: false,
    });
  });
});
