import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { csvPairs, parsePairs } from '../../cli/commands/args.js';
import { keyValues, parseOutput, readSecrets, sshSockets } from '../../cli/commands/build.js';

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
    expect(parseOutput(undefined)).toEqual({ type: 'image' });
    expect(parseOutput('type=local,dest=out')).toEqual({ type: 'local', dest: 'out' });
    expect(parseOutput('type=tar,dest=a.tar')).toEqual({ type: 'tar', dest: 'a.tar' });
    expect(parseOutput('out')).toEqual({ type: 'local', dest: 'out' });
    expect(parseOutput('type=tar,dest=-')).toMatchObject({ type: 'tar', dest: process.stdout });
    expect(() => parseOutput('type=oci,dest=x')).toThrow(/unsupported output type "oci"/);
    expect(() => parseOutput('type=local')).toThrow(/dest is required/);
  });
});
