/**
 * `tsbuild login` / `tsbuild logout` with bin/tsbuild against Debian's docker-registry behind htpasswd on
 * 127.0.0.1, config.json in a temp $DOCKER_CONFIG: a wrong password exits non-zero and writes nothing;
 * a login writes config.json (0600, every other key kept), then push (CLI) and pull (a fresh root) use the
 * saved credentials; logout removes them and a push fails with the 401 error. With `credsStore`, a
 * credential helper script on PATH (the real protocol) stores, gets and erases them instead. A missing
 * helper is an error naming it and the host. The password appears in no output.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngine } from '../../engine/open.js';
import { LayerIndex } from '../../image/layerindex.js';
import { pullImage } from '../../image/pull.js';
import { canRunSuite, hasCommand } from '../helpers/prereq.js';
import { repoRoot } from '../helpers/shared.js';
import { TEST_PASSWORD, TEST_USER, serveRegistry } from '../helpers/registry-serve.js';
import type { ServedRegistry } from '../helpers/registry-serve.js';
import { writeCredHelper } from '../helpers/cred-helper.js';
import { exportFixture } from '../engine/image-export-fixture.js';

const ready = canRunSuite('tsbuild login (CLI)', { root: true }) && hasCommand('docker-registry');
/** This machine's name, when it resolves to 127.0.0.1 (a name the client speaks https to by default). */
const name = hostname().toLowerCase();
const nameIsLocal =
  name !== 'localhost' && (await lookup(name, { family: 4 }).catch(() => undefined))?.address === '127.0.0.1';

const bin = resolve(repoRoot, 'bin/tsbuild');
const WRONG = 'wrong-pw-7f3a9c';
let work = '';
let root = '';
let cfg = '';
let helpers = '';
let reg: ServedRegistry;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Every output of the suite, checked for the passwords at the end. */
const outputs: string[] = [];

function tsbuild(args: string[], input?: string): Run {
  const r = spawnSync(bin, ['--root', root, ...args], {
    env: {
      ...process.env,
      TSBUILD_NO_DAEMON: '1',
      DOCKER_CONFIG: cfg,
      PATH: `${helpers}:${process.env.PATH ?? ''}`,
    },
    input: input ?? '',
    encoding: 'utf8',
  });
  outputs.push(r.stdout, r.stderr);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `tsbuild` without blocking this process: for servers that this process runs (a token server). */
function tsbuildAsync(args: string[], input: string): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(bin, ['--root', root, ...args], {
      env: { ...process.env, TSBUILD_NO_DAEMON: '1', DOCKER_CONFIG: cfg },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', fail);
    child.on('close', (status) => {
      outputs.push(stdout, stderr);
      done({ status, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

const login = (password: string, server = reg.host): Run =>
  tsbuild(['login', '-u', TEST_USER, '--password-stdin', server], `${password}\n`);
const push = (progress = 'plain'): Run =>
  tsbuild(['image', 'push', '--progress', progress, `${reg.host}/app:1`]);
const config = (): Record<string, unknown> =>
  JSON.parse(readFileSync(join(cfg, 'config.json'), 'utf8')) as Record<string, unknown>;
const basicAuth = Buffer.from(`${TEST_USER}:${TEST_PASSWORD}`).toString('base64');

describe.skipIf(!ready)('tsbuild login | logout', () => {
  beforeAll(async () => {
    reg = await serveRegistry({ auth: 'htpasswd' });
    const fx = await exportFixture('tsbuild-cli-login-', `${reg.host}/base:1`, [`${reg.host}/app:1`]);
    await fx.engine.close();
    work = fx.work;
    root = join(work, 'root');
    cfg = join(work, 'docker');
    helpers = join(work, 'helpers');
    mkdirSync(helpers);
  }, 60_000);

  afterAll(async () => {
    if (work) rmSync(work, { recursive: true, force: true });
    await reg?.stop();
  });

  it('a wrong password exits non-zero naming the registry, and writes nothing', () => {
    const before = JSON.stringify({ auths: {}, experimental: 'enabled' });
    mkdirSync(cfg, { recursive: true });
    writeFileSync(join(cfg, 'config.json'), before);
    const r = login(WRONG);
    expect(r.status).toBe(77);
    expect(r.stderr).toContain(reg.host);
    expect(r.stdout).not.toContain('Login Succeeded');
    expect(readFileSync(join(cfg, 'config.json'), 'utf8')).toBe(before);
  });

  it('logs in: config.json gets the credentials (0600), its other keys kept', () => {
    writeFileSync(
      join(cfg, 'config.json'),
      JSON.stringify({ auths: { 'other.example:5000': { auth: 'b3RoZXI6cHc=' } }, detachKeys: 'ctrl-e,e' }),
    );
    const r = login(TEST_PASSWORD);
    expect(r.stderr).toMatch(/WARNING! Your password will be stored unencrypted in .*config\.json/);
    expect(r.stdout).toBe('Login Succeeded\n');
    expect(r.status).toBe(0);
    expect(statSync(join(cfg, 'config.json')).mode & 0o777).toBe(0o600);
    expect(config()).toEqual({
      auths: { 'other.example:5000': { auth: 'b3RoZXI6cHc=' }, [reg.host]: { auth: basicAuth } },
      detachKeys: 'ctrl-e,e',
    });
  });

  it('pushes and pulls with the saved credentials', async () => {
    const pushed = push();
    expect(pushed.stderr).not.toMatch(/error/i);
    expect(pushed.status).toBe(0);
    expect(pushed.stdout).toMatch(/1: digest: sha256:/);
    const engine = await openEngine({ root: join(work, 'pull-root') });
    try {
      const stores = { ...engine, layers: new LayerIndex(join(work, 'pull-root')) };
      const pulled = await pullImage(stores, {
        ref: `${reg.host}/app:1`,
        registry: { dockerConfigDir: cfg },
      });
      expect(pushed.stdout).toContain(pulled.manifestDescriptor.digest);
    } finally {
      await engine.close();
    }
  }, 60_000);

  it('logs out: the entry leaves config.json, and a push fails with the 401 error', () => {
    const r = tsbuild(['logout', reg.host]);
    expect(r.stdout).toBe(`Removing login credentials for ${reg.host}\n`);
    expect(r.status).toBe(0);
    expect(config()).toEqual({
      auths: { 'other.example:5000': { auth: 'b3RoZXI6cHc=' } },
      detachKeys: 'ctrl-e,e',
    });
    const refused = push();
    expect(refused.status).toBe(77);
    expect(refused.stderr).toContain(reg.host);
    expect(refused.stderr).toMatch(/authentication|401/);
  });

  it('logs in through a bearer token server; a wrong password is refused there', async () => {
    const bearer = await serveRegistry({ auth: 'bearer' });
    try {
      writeFileSync(join(cfg, 'config.json'), '{}');
      const loginAsync = (password: string): Promise<Run> =>
        tsbuildAsync(['login', '-u', TEST_USER, '--password-stdin', bearer.host], `${password}\n`);
      const wrong = await loginAsync(WRONG);
      expect(wrong.status).toBe(77);
      expect(wrong.stderr).toContain(bearer.host);
      expect(config()).toEqual({});
      const r = await loginAsync(TEST_PASSWORD);
      expect(r.stdout).toBe('Login Succeeded\n');
      expect(r.status).toBe(0);
      expect(bearer.tokenRequests.length).toBeGreaterThanOrEqual(2);
      expect(config()).toEqual({ auths: { [bearer.host]: { auth: basicAuth } } });
      expect(tsbuild(['logout', bearer.host]).status).toBe(0);
    } finally {
      await bearer.stop();
    }
  }, 60_000);

  it('-p works with docker warning; the usage mistakes are refused', () => {
    const r = tsbuild(['login', '-u', TEST_USER, '-p', TEST_PASSWORD, reg.host]);
    expect(r.stderr).toContain('WARNING! Using --password via the CLI is insecure. Use --password-stdin.');
    expect(r.status).toBe(0);
    expect(tsbuild(['logout', reg.host]).status).toBe(0);
    const both = tsbuild(['login', '-u', 'u', '-p', 'x', '--password-stdin', reg.host], 'y\n');
    expect(both.status).toBe(2);
    expect(both.stderr).toContain('--password and --password-stdin are mutually exclusive');
    const noUser = tsbuild(['login', '--password-stdin', reg.host], 'y\n');
    expect(noUser.stderr).toContain('Must provide --username with --password-stdin');
    expect(tsbuild(['login', reg.host]).stderr).toMatch(/does not prompt/);
    expect(tsbuild(['login', '-u', 'u', '--password-stdin', 'not a host'], 'y\n').status).toBe(2);
  });

  it('credsStore: the helper stores, gets and erases the credentials; config.json holds none', () => {
    const helper = writeCredHelper(helpers, 'tstest');
    writeFileSync(join(cfg, 'config.json'), JSON.stringify({ credsStore: 'tstest', auths: {} }));
    const wrong = login(WRONG);
    expect(wrong.status).toBe(77);
    expect(helper.store()).toEqual({});
    const r = login(TEST_PASSWORD);
    expect(r.stdout).toBe('Login Succeeded\n');
    expect(r.stderr).not.toContain('unencrypted');
    expect(r.status).toBe(0);
    expect(helper.store()).toEqual({ [reg.host]: { Username: TEST_USER, Secret: TEST_PASSWORD } });
    expect(config()).toEqual({ credsStore: 'tstest', auths: { [reg.host]: {} } });
    expect(readFileSync(join(cfg, 'config.json'), 'utf8')).not.toContain(basicAuth);
    const pushed = push();
    expect(pushed.status).toBe(0);
    expect(helper.calls()).toContain(`get ${reg.host}`);
    const out = tsbuild(['logout', reg.host]);
    expect(out.status).toBe(0);
    expect(out.stderr).toBe('');
    expect(helper.calls()).toContain(`erase ${reg.host}`);
    expect(helper.store()).toEqual({});
    expect(config()).toEqual({ credsStore: 'tstest', auths: {} });
    expect(push().status).toBe(77);
  }, 60_000);

  it('credHelpers: the helper named for the host; a missing one is an error naming it and the host', () => {
    writeCredHelper(helpers, 'perhost');
    writeFileSync(
      join(cfg, 'config.json'),
      JSON.stringify({ credsStore: 'absent', credHelpers: { [reg.host]: 'perhost' } }),
    );
    expect(login(TEST_PASSWORD).status).toBe(0);
    const rawjson = push('rawjson');
    expect(rawjson.status).toBe(0);
    expect(rawjson.stderr).toMatch(/"type":"vertex.started"/);
    writeFileSync(join(cfg, 'config.json'), JSON.stringify({ credsStore: 'absent' }));
    const missing = push();
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain('docker-credential-absent');
    expect(missing.stderr).toContain(reg.host);
    expect(missing.stderr).toMatch(/not on PATH/);
    const gone = tsbuild(['logout', reg.host]);
    expect(gone.status).toBe(0);
    expect(gone.stderr).toMatch(/WARNING: could not erase credentials/);
  }, 60_000);

  it.skipIf(!nameIsLocal)(
    'plain http to a non-loopback name only with --insecure-registry',
    () => {
      writeFileSync(join(cfg, 'config.json'), '{}');
      const server = `${name}:${reg.host.split(':')[1] ?? ''}`;
      const refused = login(TEST_PASSWORD, server);
      expect(refused.status).not.toBe(0);
      expect(refused.stderr).toContain(server);
      expect(config()).toEqual({});
      const r = tsbuild(
        ['login', '--insecure-registry', server, '-u', TEST_USER, '--password-stdin', server],
        `${TEST_PASSWORD}\n`,
      );
      expect(r.stdout).toBe('Login Succeeded\n');
      expect(r.status).toBe(0);
      expect(config()).toEqual({ auths: { [server]: { auth: basicAuth } } });
    },
    60_000,
  );

  it('no output of the suite holds a password or its base64', () => {
    expect(existsSync(join(cfg, 'config.json'))).toBe(true);
    const all = outputs.join('\n');
    for (const secret of [
      TEST_PASSWORD,
      WRONG,
      basicAuth,
      Buffer.from(`${TEST_USER}:${WRONG}`).toString('base64'),
    ]) {
      expect(all).not.toContain(secret);
    }
  });
});
