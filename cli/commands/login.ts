/**
 * `tsbuild login` and `tsbuild logout`, as docker's: the credentials are checked on the registry, then
 * kept in docker's config.json or its credential helper; docker's lines on stdout, its warnings on stderr.
 * No engine and no root: only the user's config.json and the registry.
 */
import { InvalidArgumentError } from '../../core/index.js';
import { loginServer, removeLogin, saveLogin, verifyLogin } from '../../engine/index.js';
import { abortOnSignals } from '../signals.js';
import { readStdin } from '../stdin.js';

export interface LoginFlags {
  readonly username?: string;
  readonly password?: string;
  readonly passwordStdin?: boolean;
  readonly insecureRegistry?: string[];
}

/** The password of `-p` or of stdin (one trailing newline dropped, as docker does). */
async function password(flags: LoginFlags): Promise<string> {
  if (flags.password !== undefined && flags.passwordStdin) {
    throw new InvalidArgumentError('--password and --password-stdin are mutually exclusive');
  }
  if (flags.passwordStdin) {
    if (flags.username === undefined) {
      throw new InvalidArgumentError('Must provide --username with --password-stdin');
    }
    return (await readStdin()).toString('utf8').replace(/\n$/, '').replace(/\r$/, '');
  }
  if (flags.password !== undefined) {
    process.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
    return flags.password;
  }
  throw new InvalidArgumentError('tsbuild login does not prompt: give --username and --password-stdin', {
    hint: 'echo "$TOKEN" | tsbuild login -u USER --password-stdin SERVER',
  });
}

export async function login(server: string | undefined, flags: LoginFlags): Promise<void> {
  const target = loginServer(server);
  const secret = await password(flags);
  const username = flags.username ?? '';
  if (username === '' || secret === '') {
    throw new InvalidArgumentError(username === '' ? 'the username is empty' : 'the password is empty');
  }
  const registry = flags.insecureRegistry?.length ? { insecureRegistries: flags.insecureRegistry } : {};
  await abortOnSignals(async (signal) => {
    const credentials = { username, password: secret };
    await verifyLogin(target, credentials, { registry, signal });
    const saved = await saveLogin(target, credentials, { registry, signal });
    if (saved.helper === undefined) {
      process.stderr.write(
        `WARNING! Your password will be stored unencrypted in ${saved.path}.\n` +
          'Configure a credential helper to remove this warning. See\n' +
          'https://docs.docker.com/go/credential-store/\n\n',
      );
    }
    process.stdout.write('Login Succeeded\n');
  });
}

export async function logout(server: string | undefined): Promise<void> {
  const target = loginServer(server);
  process.stdout.write(`Removing login credentials for ${target.key}\n`);
  const removed = await abortOnSignals((signal) => removeLogin(target, { signal }));
  if (removed.failures.length > 0) {
    process.stderr.write('WARNING: could not erase credentials:\n');
    for (const { key, message } of removed.failures) process.stderr.write(`${key}: ${message}\n`);
  }
}
