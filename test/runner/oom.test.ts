/** The OOM watch's reading of `runc events` (the watch itself runs in inspect-run.test.ts, with runc). */
import { describe, expect, it } from 'vitest';
import { isOomEvent } from '../../runner/oom.js';

describe('isOomEvent', () => {
  it("is runc events' oom line alone", () => {
    expect(isOomEvent('{"type":"oom","id":"abc"}')).toBe(true);
    expect(isOomEvent('{"type":"stats","id":"abc","data":{}}')).toBe(false);
    expect(isOomEvent('not json')).toBe(false);
    expect(isOomEvent('null')).toBe(false);
  });
});
