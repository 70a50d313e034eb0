/** The process env docker's daemon gives a container and its execs. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_PATH } from '../../executor/index.js';
import { daemonEnv } from '../../runner/resolve.js';

describe('daemonEnv', () => {
  it("PATH, HOSTNAME and TERM=xterm (with -t) first, then the container's env, which wins in place", () => {
    expect(daemonEnv(['A=1'], { hostname: 'h1', tty: false })).toEqual([
      `PATH=${DEFAULT_PATH}`,
      'HOSTNAME=h1',
      'A=1',
    ]);
    expect(daemonEnv(['PATH=/bin', 'TERM=dumb', 'HOSTNAME=mine'], { hostname: 'h1', tty: true })).toEqual([
      'PATH=/bin',
      'HOSTNAME=mine',
      'TERM=dumb',
    ]);
    expect(daemonEnv([], { hostname: 'h1', tty: true })).toContain('TERM=xterm');
  });
});
