import { X509Certificate } from 'node:crypto';
import { mkdir, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, testConfig, tlsClient, type Harness } from '../helpers/gateway-harness.ts';
import { createTestCa, type IssuedCertificate, type TestCa } from '../helpers/test-ca.ts';

/**
 * TLS on Envoy's listener, with certificates laid out as a Kubernetes Secret volume mounts them: `tls.crt` and
 * `tls.key` are symlinks into `..data`, itself a symlink to a versioned directory that a rotation swaps atomically.
 * Envoy reads them through SDS and watches the directory, so a rotated certificate is served without a restart.
 */
interface CertDir {
  dir: string;
  certFile: string;
  keyFile: string;
  /** Installs a new version and swaps `..data` to it in one rename. */
  rotate(cert: IssuedCertificate): Promise<void>;
}

async function secretVolume(root: string, first: IssuedCertificate): Promise<CertDir> {
  const dir = join(root, 'listener-certs');
  await mkdir(dir, { recursive: true });
  let version = 0;
  const install = async (cert: IssuedCertificate) => {
    const versionDir = `..v${++version}`;
    await mkdir(join(dir, versionDir));
    await writeFile(join(dir, versionDir, 'tls.crt'), cert.cert);
    await writeFile(join(dir, versionDir, 'tls.key'), cert.key);
    await symlink(versionDir, join(dir, '..data_tmp'));
    await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  };
  await install(first);
  await symlink('..data/tls.crt', join(dir, 'tls.crt'));
  await symlink('..data/tls.key', join(dir, 'tls.key'));
  return { dir, certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key'), rotate: install };
}

/** The serial number of the certificate the listener serves to a new connection. */
function servedSerial(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.end();
      resolve(serial);
    });
    socket.on('error', reject);
  });
}

function serialOf(cert: IssuedCertificate): string {
  return new X509Certificate(cert.cert).serialNumber;
}

const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'over TLS' }] };

describe('TLS on the listener, hot-reloaded certificates', () => {
  let ca: TestCa;
  let certs: CertDir;
  let first: IssuedCertificate;
  let h: Harness;
  let port: number;

  beforeAll(async () => {
    ca = await createTestCa();
    first = await ca.issue('listener-v1', ['DNS:localhost', 'IP:127.0.0.1']);
    certs = await secretVolume(ca.dir, first);
    const config = testConfig();
    config.listener = { tls: { cert_file: certs.certFile, key_file: certs.keyFile } };
    h = await startHarness({ config, clientTls: { ca: ca.caCert } });
    port = Number(new URL(h.baseUrl).port);
  });
  afterAll(async () => {
    await h?.stop();
    await ca?.remove();
  });

  it('serves the official SDK over HTTPS, JSON and streaming', async () => {
    expect(h.baseUrl.startsWith('https://')).toBe(true);
    const completion = await h.client().chat.completions.create(chat);
    expect(completion.choices[0]?.message.content).toBe('Echo: over TLS');
    const stream = await h.client().chat.completions.create({ ...chat, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('Echo: over TLS');
  });

  it('refuses plain HTTP on the TLS port and clients that do not trust the CA', async () => {
    await expect(fetch(`http://127.0.0.1:${port}/v1/models`)).rejects.toThrow();
    const other = await createTestCa();
    try {
      await expect(tlsClient(h.baseUrl, h.key, { ca: other.caCert }).chat.completions.create(chat)).rejects.toThrow(/Connection error/);
    } finally {
      await other.remove();
    }
  });

  it('serves a rotated certificate to new connections without a restart', async () => {
    expect(await servedSerial(port, ca.caCert)).toBe(serialOf(first));
    const pidBefore = await h.envoy.pid;
    const second = await ca.issue('listener-v2', ['DNS:localhost', 'IP:127.0.0.1']);
    expect(serialOf(second)).not.toBe(serialOf(first));
    await certs.rotate(second);
    const deadline = Date.now() + 10_000;
    let served = '';
    while (Date.now() < deadline) {
      served = await servedSerial(port, ca.caCert);
      if (served === serialOf(second)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(served).toBe(serialOf(second));
    expect(await h.envoy.pid).toBe(pidBefore);
    const completion = await h.client().chat.completions.create(chat);
    expect(completion.choices[0]?.message.content).toBe('Echo: over TLS');
  });
});

describe('client mTLS on the listener', () => {
  let serverCa: TestCa;
  let clientCa: TestCa;
  let otherCa: TestCa;
  let h: Harness;

  beforeAll(async () => {
    serverCa = await createTestCa();
    clientCa = await createTestCa();
    otherCa = await createTestCa();
    const server = await serverCa.issue('listener', ['DNS:localhost', 'IP:127.0.0.1']);
    const config = testConfig();
    config.listener = {
      tls: { cert_file: server.certPath, key_file: server.keyPath, client_ca_file: clientCa.caCertPath, require_client_cert: true },
    };
    h = await startHarness({ config, clientTls: { ca: serverCa.caCert } });
  });
  afterAll(async () => {
    await h?.stop();
    await Promise.all([serverCa?.remove(), clientCa?.remove(), otherCa?.remove()]);
  });

  it('accepts a client certificate signed by the trusted CA', async () => {
    const app = await clientCa.issue('app', ['DNS:notebook.apps.test'], { usage: 'client' });
    const client = h.client(h.key, { tls: { ca: serverCa.caCert, cert: app.cert, key: app.key } });
    const completion = await client.chat.completions.create(chat);
    expect(completion.choices[0]?.message.content).toBe('Echo: over TLS');
  });

  it('refuses a client without a certificate, or with one from another CA', async () => {
    await expect(h.client().chat.completions.create(chat)).rejects.toThrow(/Connection error/);
    const stranger = await otherCa.issue('stranger', ['DNS:stranger.test'], { usage: 'client' });
    const client = h.client(h.key, { tls: { ca: serverCa.caCert, cert: stranger.cert, key: stranger.key } });
    await expect(client.chat.completions.create(chat)).rejects.toThrow(/Connection error/);
  });
});

describe('optional client mTLS (a trusted CA, certificates not required)', () => {
  let serverCa: TestCa;
  let clientCa: TestCa;
  let otherCa: TestCa;
  let h: Harness;

  beforeAll(async () => {
    serverCa = await createTestCa();
    clientCa = await createTestCa();
    otherCa = await createTestCa();
    const server = await serverCa.issue('listener', ['DNS:localhost', 'IP:127.0.0.1']);
    const config = testConfig();
    config.listener = { tls: { cert_file: server.certPath, key_file: server.keyPath, client_ca_file: clientCa.caCertPath } };
    h = await startHarness({ config, clientTls: { ca: serverCa.caCert } });
  });
  afterAll(async () => {
    await h?.stop();
    await Promise.all([serverCa?.remove(), clientCa?.remove(), otherCa?.remove()]);
  });

  it('serves clients without a certificate and with a trusted one, and refuses an untrusted one', async () => {
    expect((await h.client().chat.completions.create(chat)).choices[0]?.message.content).toBe('Echo: over TLS');
    const app = await clientCa.issue('app', ['DNS:app.test'], { usage: 'client' });
    const trusted = h.client(h.key, { tls: { ca: serverCa.caCert, cert: app.cert, key: app.key } });
    expect((await trusted.chat.completions.create(chat)).choices[0]?.message.content).toBe('Echo: over TLS');
    const stranger = await otherCa.issue('stranger', ['DNS:stranger.test'], { usage: 'client' });
    const untrusted = h.client(h.key, { tls: { ca: serverCa.caCert, cert: stranger.cert, key: stranger.key } });
    await expect(untrusted.chat.completions.create(chat)).rejects.toThrow(/Connection error/);
  });
});
