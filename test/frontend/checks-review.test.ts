/**
 * Build checks, review follow-ups: where BuildKit's linter stays silent and tsbuild warned (EXPOSE
 * with an empty host part, instructions after the one that stops parsing before any FROM).
 */
import { describe, expect, it } from 'vitest';
import { check, w } from './helpers/checks.js';

describe('build checks: review follow-ups', () => {
  it('ExposeInvalidFormat fires only for a non-empty IP or host port, as BuildKit splits them', async () => {
    const found = (p: string) =>
      `EXPOSE instruction should not define an IP address or host-port mapping, found '${p}'`;
    // BuildKit's splitParts: ':80' has an empty host port, '::80' an empty IP and host port.
    expect((await check('FROM scratch\nEXPOSE :80 ::81\n')).warnings).toEqual([]);
    expect((await check('FROM scratch\nEXPOSE 1.2.3.4::80 :8080:81\n')).warnings).toEqual([
      w('ExposeInvalidFormat', found('1.2.3.4::80'), 2),
      w('ExposeInvalidFormat', found(':8080:81'), 2),
    ]);
  });

  it('an instruction before the first FROM stops the checks where BuildKit stops parsing', async () => {
    const r = await check('RUN true\nMAINTAINER me\nFROM scratch\n');
    expect(r.error?.message).toMatch(/no build stage in current context/);
    expect(r.warnings).toEqual([]);
    // The instruction that stops it is linted first, as BuildKit lints before it finds no stage.
    const r2 = await check('MAINTAINER me\nMAINTAINER you\nFROM scratch\n');
    expect(r2.warnings).toEqual([
      w('MaintainerDeprecated', 'Maintainer instruction is deprecated in favor of using label', 1),
    ]);
  });
});
