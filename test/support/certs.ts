/**
 * A throwaway PKI for TLS tests, made with the `openssl` CLI at test time: a CA, a server
 * certificate for 127.0.0.1 and localhost, a client certificate from that CA, and a client
 * certificate from an unrelated CA that a mutual-TLS server must refuse. Without `openssl`,
 * TLS tests skip loudly; under CI=true they fail instead, because CI must not pass untested.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Paths of the generated PEM files. */
export interface TestPki {
  readonly dir: string;
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** A second CA, trusted by nobody. */
  readonly rogueCaCert: string;
  /** A client certificate signed by the rogue CA. */
  readonly rogueClientCert: string;
  readonly rogueClientKey: string;
  /** Deletes the directory. */
  cleanup(): void;
}

/** True when the `openssl` CLI runs. */
export const HAVE_OPENSSL = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;

/**
 * Whether TLS tests can run: true with `openssl`; without it, false with a loud warning, or a
 * thrown error under CI=true so the run fails rather than skips.
 */
export function opensslOrSkip(what: string): boolean {
  if (HAVE_OPENSSL) return true;
  const message = `the openssl CLI is not installed: ${what} skipped`;
  if (process.env['CI'] === 'true') throw new Error(`${message}; under CI=true this is a failure`);
  console.warn(`\n*** ${message} ***\n`);
  return false;
}

function openssl(args: readonly string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

// P-256 keys: generating them takes milliseconds, where RSA takes noticeably longer per test run.
const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function makeCa(dir: string, name: string): void {
  openssl(
    [
      'req', '-x509', ...NEW_KEY, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2',
      '-subj', `/CN=Lanner test ${name}`,
      '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
}

function makeLeaf(dir: string, name: string, ca: string, cn: string, extensions: string): void {
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(['req', ...NEW_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
  openssl(
    [
      'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-set_serial',
      String(Date.now()), '-days', '2', '-out', `${name}.crt`, '-extfile', `${name}.ext`,
    ],
    dir,
  );
}

/** Generates the PKI into a new temporary directory (or `dir`). Needs `openssl`. */
export function makeTestPki(dir: string = mkdtempSync(join(tmpdir(), 'lanner-pki-'))): TestPki {
  makeCa(dir, 'ca');
  makeCa(dir, 'rogue-ca');
  makeLeaf(
    dir, 'server', 'ca', 'localhost',
    'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n',
  );
  const clientExt = 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n';
  makeLeaf(dir, 'client', 'ca', 'lanner', clientExt);
  makeLeaf(dir, 'rogue-client', 'rogue-ca', 'lanner', clientExt);
  const at = (file: string): string => join(dir, file);
  return {
    dir,
    caCert: at('ca.crt'),
    serverCert: at('server.crt'),
    serverKey: at('server.key'),
    clientCert: at('client.crt'),
    clientKey: at('client.key'),
    rogueCaCert: at('rogue-ca.crt'),
    rogueClientCert: at('rogue-client.crt'),
    rogueClientKey: at('rogue-client.key'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
