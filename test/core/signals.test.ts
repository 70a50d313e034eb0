import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../core/errors.js';
import { parseSignal, signalName } from '../../core/signals.js';

describe('parseSignal', () => {
  it('reads names with or without SIG, in any case, and numbers', () => {
    expect(parseSignal('TERM')).toEqual({ name: 'SIGTERM', number: 15 });
    expect(parseSignal('SIGTERM')).toEqual({ name: 'SIGTERM', number: 15 });
    expect(parseSignal('sigkill')).toEqual({ name: 'SIGKILL', number: 9 });
    expect(parseSignal('15')).toEqual({ name: 'SIGTERM', number: 15 });
    expect(parseSignal(9)).toEqual({ name: 'SIGKILL', number: 9 });
    expect(parseSignal('CLD')).toEqual({ name: 'SIGCLD', number: 17 });
    expect(parseSignal('6')).toEqual({ name: 'SIGABRT', number: 6 });
  });

  it('reads real-time signals with glibc numbering (RTMIN 34, RTMAX 64)', () => {
    expect(parseSignal('SIGRTMIN')).toEqual({ name: 'SIGRTMIN', number: 34 });
    expect(parseSignal('RTMIN+3')).toEqual({ name: 'SIGRTMIN+3', number: 37 });
    expect(parseSignal('rtmax-1')).toEqual({ name: 'SIGRTMAX-1', number: 63 });
    expect(parseSignal('64')).toEqual({ name: 'SIGRTMAX', number: 64 });
    expect(signalName(40)).toBe('SIGRTMIN+6');
    expect(signalName(50)).toBe('SIGRTMAX-14');
  });

  it('refuses unknown names, 0 and numbers past 64, naming the flag', () => {
    for (const bad of ['FOO', '0', '65', 'RTMIN+16', 'RTMAX+1', '', '-9', '1.5']) {
      const err = (() => {
        try {
          return parseSignal(bad, '--stop-signal');
        } catch (e) {
          return e;
        }
      })();
      expect(err, bad).toBeInstanceOf(InvalidArgumentError);
      expect((err as Error).message).toBe(`invalid --stop-signal ${JSON.stringify(bad)}`);
    }
  });
});
