/** 185 real-world Dockerfiles: our dump must equal BuildKit's own dump of each, byte for byte. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dumpAst, parseDockerfile } from '../../parser/index.js';
import { canRunSuite } from '../helpers/prereq.js';
import { conformance } from '../helpers/shared.js';

const hasConformance = canRunSuite('realworld Dockerfile parsing', { conformance: true });

const dirs = hasConformance
  ? readdirSync(conformance('realworld'))
      .filter((d) => statSync(conformance('realworld', d)).isDirectory())
      .sort()
  : [];

describe.skipIf(!hasConformance)('realworld Dockerfiles', () => {
  it('has all 185 cases', () => {
    expect(dirs).toHaveLength(185);
  });

  it.each(dirs)('%s', (dir) => {
    const source = readFileSync(conformance('realworld', dir, 'Dockerfile'), 'utf8');
    const expected = readFileSync(conformance('realworld', dir, 'result'), 'utf8');
    expect(dumpAst(parseDockerfile(source, { file: `${dir}/Dockerfile` }))).toBe(expected);
  });
});
