/**
 * A throwaway certificate authority for tests, made at test time so no key ever lives in the repository: a CA, and
 * server certificates it signs for the names a test needs (`DNS:azure.test`, `DNS:localhost`, `IP:127.0.0.1`).
 *
 * Built with the `openssl` CLI (installed by `scripts/setup`): Node's crypto can parse certificates but not issue
 * them, and the CLI spares us an npm dependency whose only job would be X.509 encoding. Every run writes its own
 * minimal OpenSSL config, so the machine's openssl.cnf cannot change what gets issued.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A subjectAltName entry in OpenSSL's notation. */
export type SubjectAltName = `DNS:${string}` | `IP:${string}`;

export interface IssuedCertificate {
  certPath: string;
  keyPath: string;
  /** PEM of the certificate. */
  cert: string;
  /** PEM of its private key (PKCS#8, unencrypted). */
  key: string;
}

export interface TestCa {
  /** The temporary directory holding every file. */
  readonly dir: string;
  /** The CA certificate: what a client (Node, Envoy) must trust. */
  readonly caCertPath: string;
  readonly caCert: string;
  /** Signs a server certificate for these names; `name` only names the files (`<name>.crt`, `<name>.key`). */
  issue(name: string, subjectAltNames: readonly SubjectAltName[], options?: { usage?: 'server' | 'client' }): Promise<IssuedCertificate>;
  /** Deletes the directory and every key in it. */
  remove(): Promise<void>;
}

// A SAN goes into an OpenSSL config file: allow only what a host name or an IP address can contain.
const SAN_PATTERN = /^(DNS:[A-Za-z0-9*]([A-Za-z0-9.-]*[A-Za-z0-9])?|IP:[0-9A-Fa-f.:]+)$/;
const FILE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
// Long enough for any test run, short enough that a leaked file is useless soon.
const VALID_DAYS = '2';

const CA_CONFIG = `[req]
distinguished_name = dn
prompt = no
x509_extensions = ca_ext
[dn]
CN = Tollgate Test CA
[ca_ext]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
`;

function serverConfig(commonName: string, subjectAltNames: readonly SubjectAltName[], usage: 'server' | 'client' = 'server'): string {
  return `[req]
distinguished_name = dn
prompt = no
[dn]
CN = ${commonName}
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = ${usage === 'client' ? 'clientAuth' : 'serverAuth'}
subjectAltName = ${subjectAltNames.join(', ')}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;
}

/** P-256 keys: fast to generate, accepted by Node and by Envoy's BoringSSL. */
const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args, { timeout: 30_000 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('the openssl CLI is not installed (scripts/setup installs it)');
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.trim() || e.message}`);
  }
}

/** Creates a CA in a new temporary directory (or in `dir`). Call `remove()` when done. */
export async function createTestCa(options: { dir?: string } = {}): Promise<TestCa> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'tollgate-test-ca-')));
  const caCertPath = join(dir, 'ca.crt');
  const caKeyPath = join(dir, 'ca.key');
  const caConfigPath = join(dir, 'ca.cnf');
  await writeFile(caConfigPath, CA_CONFIG);
  await openssl(['req', '-x509', ...NEW_KEY, '-keyout', caKeyPath, '-out', caCertPath, '-days', VALID_DAYS, '-config', caConfigPath]);
  const caCert = await readFile(caCertPath, 'utf8');
  let serial = 0;

  return {
    dir,
    caCertPath,
    caCert,
    async issue(name, subjectAltNames, options = {}) {
      if (!FILE_NAME_PATTERN.test(name)) throw new Error(`bad certificate name ${JSON.stringify(name)}`);
      if (subjectAltNames.length === 0) throw new Error('a server certificate needs at least one subjectAltName');
      for (const san of subjectAltNames) if (!SAN_PATTERN.test(san)) throw new Error(`bad subjectAltName ${JSON.stringify(san)}`);
      const first = subjectAltNames[0] ?? '';
      const commonName = first.slice(first.indexOf(':') + 1);
      const certPath = join(dir, `${name}.crt`);
      const keyPath = join(dir, `${name}.key`);
      const csrPath = join(dir, `${name}.csr`);
      const configPath = join(dir, `${name}.cnf`);
      await writeFile(configPath, serverConfig(commonName, subjectAltNames, options.usage));
      await openssl(['req', '-new', ...NEW_KEY, '-keyout', keyPath, '-out', csrPath, '-config', configPath]);
      // Distinct serials: a client that cached one certificate must not confuse it with the next one.
      const serialHex = `${Date.now().toString(16)}${(++serial).toString(16).padStart(4, '0')}`;
      await openssl([
        'x509', '-req', '-in', csrPath, '-CA', caCertPath, '-CAkey', caKeyPath, '-set_serial', `0x${serialHex}`,
        '-days', VALID_DAYS, '-sha256', '-extfile', configPath, '-extensions', 'server_ext', '-out', certPath,
      ]);
      const [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
      return { certPath, keyPath, cert, key };
    },
    remove() {
      return rm(dir, { recursive: true, force: true });
    },
  };
}

/** The common case in one call: a fresh CA and one server certificate for `subjectAltNames`. */
export async function createTestCaWithServer(subjectAltNames: readonly SubjectAltName[]): Promise<{ ca: TestCa; server: IssuedCertificate }> {
  const ca = await createTestCa();
  try {
    return { ca, server: await ca.issue('server', subjectAltNames) };
  } catch (err) {
    await ca.remove();
    throw err;
  }
}
