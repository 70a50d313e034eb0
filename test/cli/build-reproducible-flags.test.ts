/**
 * The CLI's side of SOURCE_DATE_EPOCH and rewrite-timestamp: `$SOURCE_DATE_EPOCH` is passed as the build
 * arg unless `--build-arg` gives it (buildx's rule); `rewrite-timestamp` is an attribute of the image
 * outputs (the store, a push, an archive), a boolean, and no attribute of local or tar.
 */
import { describe, expect, it } from 'vitest';
import { buildArgsOf, parseOutput } from '../../cli/commands/build-flags.js';

describe('SOURCE_DATE_EPOCH and rewrite-timestamp flags', () => {
  it('takes SOURCE_DATE_EPOCH from the environment unless --build-arg gives it', () => {
    expect(buildArgsOf(['A=1'], { SOURCE_DATE_EPOCH: '10' })).toEqual({ A: '1', SOURCE_DATE_EPOCH: '10' });
    expect(buildArgsOf(['SOURCE_DATE_EPOCH=5'], { SOURCE_DATE_EPOCH: '10' })).toEqual({
      SOURCE_DATE_EPOCH: '5',
    });
    expect(buildArgsOf(['SOURCE_DATE_EPOCH='], { SOURCE_DATE_EPOCH: '10' })).toEqual({
      SOURCE_DATE_EPOCH: '',
    });
    expect(buildArgsOf([], {})).toEqual({});
  });

  it('rewrite-timestamp on image, registry, oci and docker outputs; refused elsewhere', () => {
    expect(parseOutput('type=image,name=a,rewrite-timestamp=true').output).toEqual({
      type: 'image',
      rewriteTimestamp: true,
    });
    expect(parseOutput('type=registry,name=a,rewrite-timestamp=true').output).toEqual({
      type: 'image',
      push: true,
      rewriteTimestamp: true,
    });
    expect(parseOutput('type=oci,dest=x,rewrite-timestamp=true').output).toEqual({
      type: 'oci',
      dest: 'x',
      rewriteTimestamp: true,
    });
    expect(parseOutput('type=docker,dest=x,rewrite-timestamp=true').output).toEqual({
      type: 'docker',
      dest: 'x',
      rewriteTimestamp: true,
    });
    expect(parseOutput('type=oci,dest=x,rewrite-timestamp=false').output).toEqual({ type: 'oci', dest: 'x' });
    expect(() => parseOutput('type=oci,dest=x,rewrite-timestamp=yes')).toThrow(
      /rewrite-timestamp=yes: expected true or false/,
    );
    expect(() => parseOutput('type=local,dest=x,rewrite-timestamp=true')).toThrow(
      /unknown attribute "rewrite-timestamp" for type=local/,
    );
    expect(() => parseOutput('type=tar,dest=x,rewrite-timestamp=true')).toThrow(
      /unknown attribute "rewrite-timestamp" for type=tar/,
    );
  });
});
