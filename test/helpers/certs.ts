/**
 * Test certificates made with openssl: a CA, a server certificate for the given names (DNS names or IP
 * addresses) and a client certificate, all signed by the CA, in a directory of PEM files. A suite that
 * uses them needs openssl (`canRunSuite(…, { tools: ['openssl'] })`).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isIP } from 'node:net';

export interface TestCerts {
  readonly dir: string;
  /** PEM file paths. */
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

function signed(dir: string, name: string, subject: string, ext: string): void {
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  };
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    subject,
  );
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
  );
}

/** A CA, a server certificate for `names` and a client certificate, in `dir`. */
export function makeCerts(dir: string, names: readonly string[]): TestCerts {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '2',
    ].concat(['-subj', '/CN=tsbuild test CA']),
    { cwd: dir, stdio: 'ignore' },
  );
  const alt = names.map((n) => (isIP(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  signed(dir, 'server', `/CN=${names[0] ?? 'localhost'}`, `subjectAltName=${alt}\n`);
  signed(dir, 'client', '/CN=tsbuild test client', 'extendedKeyUsage=clientAuth\n');
  return {
    dir,
    ca: join(dir, 'ca.crt'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    clientCert: join(dir, 'client.crt'),
    clientKey: join(dir, 'client.key'),
  };
}
