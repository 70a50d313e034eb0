/** Image references normalised as docker does, and OCI chain IDs. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../core/errors.js';
import { chainIDs } from '../../oci/index.js';
import { familiarReference, normalizeReference, parseReference } from '../../oci/index.js';
import { canRunSuite } from '../helpers/prereq.js';
import { conformance } from '../helpers/shared.js';

const hasConformance = canRunSuite('chain IDs (image-spec identity tests)', { conformance: true });

describe('normalizeReference', () => {
  it.each([
    ['busybox', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['library/busybox', 'docker.io/library/busybox:latest'],
    ['docker.io/busybox', 'docker.io/library/busybox:latest'],
    ['index.docker.io/busybox:x', 'docker.io/library/busybox:x'],
    ['user/app', 'docker.io/user/app:latest'],
    ['localhost/app', 'localhost/app:latest'],
    ['localhost:5000/a/b/c:v1', 'localhost:5000/a/b/c:v1'],
    ['127.0.0.1:5000/app', '127.0.0.1:5000/app:latest'],
    ['ghcr.io/o/r:1.0-rc.1', 'ghcr.io/o/r:1.0-rc.1'],
    ['[::1]:5000/app', '[::1]:5000/app:latest'],
    ['a__b-c---d/f_g.h', 'docker.io/a__b-c---d/f_g.h:latest'],
    [`busybox@sha256:${'a'.repeat(64)}`, `docker.io/library/busybox@sha256:${'a'.repeat(64)}`],
    [`busybox:1@sha256:${'b'.repeat(64)}`, `docker.io/library/busybox:1@sha256:${'b'.repeat(64)}`],
  ])('%s → %s', (input, expected) => {
    expect(normalizeReference(input)).toBe(expected);
  });

  it.each([
    '',
    'Busybox',
    'busybox:',
    'busybox:-x',
    'a//b',
    '_a/b',
    'a/b/',
    'busybox@sha256:abc',
    `busybox@sha256:${'A'.repeat(64)}`,
    ':tag',
    'host:port:x/app',
    `a:${'t'.repeat(129)}`,
  ])('%j is rejected', (input) => {
    expect(() => parseReference(input)).toThrow(InvalidArgumentError);
  });

  it('gives the familiar form back', () => {
    expect(familiarReference(parseReference('busybox'))).toBe('busybox:latest');
    expect(familiarReference(parseReference('user/app:v1'))).toBe('user/app:v1');
    expect(familiarReference(parseReference('127.0.0.1:5000/app'))).toBe('127.0.0.1:5000/app:latest');
  });
});

interface ChainCases {
  cases: { name: string; input: string[] | null; expected: string[] | null }[];
}

describe.skipIf(!hasConformance)('chain IDs (image-spec identity tests)', () => {
  const data = hasConformance
    ? (JSON.parse(readFileSync(conformance('oci/image-spec/chainid-cases.json'), 'utf8')) as ChainCases)
    : { cases: [] };
  it.each(data.cases.map((c) => [c.name, c.input, c.expected] as const))('%s', (_name, input, expected) => {
    expect(chainIDs(input ?? [])).toEqual(expected ?? []);
  });
});
