/**
 * `--chown` and WORKDIR's USER as an llb owner, split the way BuildKit's llb.WithUser splits them: at the
 * first colon; `root` and numbers are ids, an empty part is id 0, anything else is a name.
 */
import { describe, expect, it } from 'vitest';
import { parseChown } from '../../frontend/dockerfile2llb/dispatch-env.js';

describe('parseChown', () => {
  it('keeps ids as numbers and names as names', () => {
    expect(parseChown('1000')).toEqual({ user: 1000 });
    expect(parseChown('1000:1001')).toEqual({ user: 1000, group: 1001 });
    expect(parseChown('app:staff')).toEqual({ user: 'app', group: 'staff' });
    expect(parseChown('app:5')).toEqual({ user: 'app', group: 5 });
    expect(parseChown('')).toBeUndefined();
  });

  it('reads root as id 0, with or without a user database', () => {
    expect(parseChown('root')).toEqual({ user: 0 });
    expect(parseChown('root:root')).toEqual({ user: 0, group: 0 });
  });

  it('makes an empty part id 0', () => {
    expect(parseChown('daemon:')).toEqual({ user: 'daemon', group: 0 });
    expect(parseChown(':daemon')).toEqual({ user: 0, group: 'daemon' });
  });

  it('takes a number past 2^31-1 as a name, as Go parses a 32-bit int (an unknown name is 0 for a file op)', () => {
    expect(parseChown('2147483647')).toEqual({ user: 2147483647 });
    expect(parseChown('2147483648:4294967296')).toEqual({ user: '2147483648', group: '4294967296' });
  });

  it('splits at the first colon only', () => {
    expect(parseChown('a:b:c')).toEqual({ user: 'a', group: 'b:c' });
  });
});
