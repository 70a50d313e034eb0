import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { csvPairs, parsePairs } from '../../cli/commands/args.js';
import {
  allowInsecure,
  keyValues,
  parseOutput,
  readSecrets,
  sshSockets,
} from '../../cli/commands/build-flags.js';

const work = mkdtempSync(join(tmpdir(), 'tsbuild-args-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('tsbuild build flags', () => {
  it('name=value pairs and buildx csv options', () => {
    expect(parsePairs(['a=1', 'b=x=y'], '--local')).toEqual({ a: '1', b: 'x=y' });
    expect(csvPairs('type=local,dest=out', '--output')).toEqual({ type: 'local', dest: 'out' });
    expect(() => csvPairs('type=local,=x', '--output')).toThrow(/invalid --output "=x"/);
  });

  it('--build-arg and --label: a bare name takes its value from the environment', () => {
    expect(keyValues(['A=1', 'B', 'C'], '--build-arg', { B: 'from-env' })).toEqual({ A: '1', B: 'from-env' });
    expect(() => keyValues(['=1'], '--build-arg', {})).toThrow(/invalid --build-arg/);
  });

  it('--secret from a file or an environment variable', async () => {
    writeFileSync(join(work, 'token'), 's3cr3t');
    const secrets = await readSecrets([`id=tok,src=${join(work, 'token')}`, 'id=API_KEY', 'id=x,env=OTHER'], {
      API_KEY: 'k',
      OTHER: 'o',
    });
    expect(
      Object.fromEntries(Object.entries(secrets).map(([k, v]) => [k, Buffer.from(v).toString()])),
    ).toEqual({
      tok: 's3cr3t',
      API_KEY: 'k',
      x: 'o',
    });
    await expect(readSecrets(['src=/x'], {})).rejects.toThrow(/id is required/);
    await expect(readSecrets(['id=missing'], {})).rejects.toThrow(/MISSING|missing/);
  });

  it('--ssh default takes SSH_AUTH_SOCK; id=path names a socket', () => {
    expect(sshSockets(['default', 'other=/run/a.sock'], { SSH_AUTH_SOCK: '/run/agent' })).toEqual({
      default: '/run/agent',
      other: '/run/a.sock',
    });
    expect(() => sshSockets(['default'], {})).toThrow(/SSH_AUTH_SOCK/);
  });

  it('--output: image by default, local and tar destinations, a bare path is local', () => {
    expect(parseOutput(undefined)).toEqual({ output: { type: 'image' }, names: [] });
    expect(parseOutput('type=local,dest=out')).toEqual({ output: { type: 'local', dest: 'out' }, names: [] });
    expect(parseOutput('type=tar,dest=a.tar').output).toEqual({ type: 'tar', dest: 'a.tar' });
    expect(parseOutput('out').output).toEqual({ type: 'local', dest: 'out' });
    expect(parseOutput('-').output).toEqual({ type: 'tar' }); // to stdout: the stream beside the request
    expect(parseOutput('type=tar,dest=-').output).toEqual({ type: 'tar' });
    expect(() => parseOutput('type=sbom,dest=x')).toThrow(/unsupported output type "sbom"/);
    expect(() => parseOutput('type=local')).toThrow(/dest is required/);
  });

  it('--output: image names become tags; what does not work yet, and unknown attributes, are refused', () => {
    expect(parseOutput('type=image,name=a')).toEqual({ output: { type: 'image' }, names: ['a'] });
    expect(parseOutput('type=image,name=a,push=false')).toEqual({ output: { type: 'image' }, names: ['a'] });
    expect(parseOutput('type=docker')).toEqual({ output: { type: 'image' }, names: [] });
    expect(() => parseOutput('type=local,dest=out,platform-split=true')).toThrow(
      /unknown attribute "platform-split"/,
    );
    expect(() => parseOutput('type=tar,dest=a.tar,compression=gzip')).toThrow(
      /unknown attribute "compression"/,
    );
    expect(() => parseOutput('dest=out')).toThrow(/type is required/);
  });

  it('--output / --push: push, registry, oci and docker archives, compression; what does not work is refused', () => {
    const push = { type: 'image', push: true };
    expect(parseOutput('type=image,name=a,push=true')).toEqual({ output: push, names: ['a'] });
    expect(parseOutput('type=registry,name=a').output).toEqual(push);
    expect(parseOutput(undefined, true).output).toEqual(push);
    expect(parseOutput('type=image,name=a', true).output).toEqual(push);
    expect(parseOutput('type=docker,dest=x.tar').output).toEqual({ type: 'docker', dest: 'x.tar' });
    expect(parseOutput('type=docker,dest=-').output).toEqual({ type: 'docker' });
    expect(parseOutput('type=oci,dest=-,name=a')).toEqual({ output: { type: 'oci' }, names: ['a'] });
    expect(parseOutput('type=oci,dest=d,tar=false').output).toEqual({ type: 'oci', dest: 'd', tar: false });
    expect(
      parseOutput('type=oci,dest=x,compression=zstd,compression-level=3,force-compression=true').output,
    ).toEqual({
      type: 'oci',
      dest: 'x',
      compression: 'zstd',
      compressionLevel: 3,
      forceCompression: true,
    });
    expect(parseOutput('type=image,name=a,push=true,oci-mediatypes=true').output).toEqual(push);
    // The manifest's form: docker media types, annotations (keys keep their case); the store-only
    // refusal is the engine's (checkImageOutput), for every caller.
    expect(parseOutput('type=registry,name=a,oci-mediatypes=false').output).toEqual({
      ...push,
      ociMediaTypes: false,
    });
    expect(parseOutput('type=oci,dest=x,annotation.Org.K=v,annotation-manifest.b=c').output).toEqual({
      type: 'oci',
      dest: 'x',
      annotations: { 'Org.K': 'v', b: 'c' },
    });
    expect(() => parseOutput('type=oci,dest=x,annotation-index.a=b')).toThrow(/annotation-index annotations/);
    expect(() => parseOutput('type=oci,dest=x,annotation[linux/amd64].a=b')).toThrow(/not supported/);
    expect(() => parseOutput('type=image,name=a,compression=zstd')).toThrow(
      /compression applies to a push or an archive/,
    );
    expect(() => parseOutput('type=docker,compression-level=3')).toThrow(/compression-level applies/);
    expect(() => parseOutput('type=oci,dest=x,compression=xz')).toThrow(/unknown compression "xz"/);
    expect(() => parseOutput('type=oci,dest=x,compression-level=high')).toThrow(/compression-level=high/);
    expect(() => parseOutput('type=oci,dest=-,tar=false')).toThrow(/tar=false writes a directory/);
    expect(() => parseOutput('type=oci,dest=x,tar=maybe')).toThrow(/tar=maybe: expected true or false/);
    expect(() => parseOutput('type=registry,name=a,push=false')).toThrow(/type=registry always pushes/);
    expect(() => parseOutput('type=local,dest=out', true)).toThrow(/--push cannot be used/);
    expect(() => parseOutput('type=oci,dest=x', true)).toThrow(/--push cannot be used/);
    expect(() => parseOutput('type=local,dest=x,annotation.a=b')).toThrow(/unknown attribute "annotation.a"/);
  });

  it('--allow: security.insecure and network.host; another entitlement is refused', () => {
    expect(allowInsecure([])).toBe(false);
    expect(allowInsecure(['network.host'])).toBe(false);
    expect(allowInsecure(['security.insecure', 'network.host'])).toBe(true);
    expect(() => allowInsecure(['device=/dev/fuse'])).toThrow(
      /--allow device=\/dev\/fuse: unknown entitlement/,
    );
  });
});
