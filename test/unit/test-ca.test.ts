import { X509Certificate } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI } from '../fakes/openai-provider.ts';
import type { FakeOpenAI } from '../fakes/openai-provider.ts';
import { httpsRequest } from '../helpers/https-request.ts';
import { createTestCa, createTestCaWithServer } from '../helpers/test-ca.ts';
import type { IssuedCertificate, TestCa } from '../helpers/test-ca.ts';

let ca: TestCa;
let server: IssuedCertificate;
let otherCa: TestCa;
let fake: FakeOpenAI;

beforeAll(async () => {
  ({ ca, server } = await createTestCaWithServer(['DNS:azure.test', 'DNS:localhost', 'IP:127.0.0.1']));
  otherCa = await createTestCa();
  fake = await startFakeOpenAI({ tls: { cert: server.cert, key: server.key } });
});
afterAll(async () => {
  await fake?.close();
  await ca?.remove();
  await otherCa?.remove();
});

describe('test CA', () => {
  it('issues a server certificate for exactly the requested names, signed by a CA that is not itself a server', async () => {
    const caCert = new X509Certificate(ca.caCert);
    const cert = new X509Certificate(server.cert);
    expect(caCert.ca).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.subjectAltName).toBe('DNS:azure.test, DNS:localhost, IP Address:127.0.0.1');
    expect(cert.checkHost('azure.test')).toBe('azure.test');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkHost('other.test')).toBeUndefined();
    expect(new Date(cert.validTo).getTime()).toBeGreaterThan(Date.now());
    // The files on disk are what the PEMs say (Envoy reads the files).
    expect((await stat(server.certPath)).isFile()).toBe(true);
    expect((await stat(server.keyPath)).isFile()).toBe(true);
    expect((await stat(ca.caCertPath)).isFile()).toBe(true);
  });

  it('gives every certificate its own serial and refuses names that could inject OpenSSL config', async () => {
    const second = await ca.issue('second', ['DNS:vllm.test']);
    expect(new X509Certificate(second.cert).serialNumber).not.toBe(new X509Certificate(server.cert).serialNumber);
    await expect(ca.issue('bad', ['DNS:a.test\n[evil]' as 'DNS:x'])).rejects.toThrow(/bad subjectAltName/);
    await expect(ca.issue('../escape', ['DNS:a.test'])).rejects.toThrow(/bad certificate name/);
    await expect(ca.issue('none', [])).rejects.toThrow(/at least one/);
  });
});

describe('HTTPS fakes with the test CA', () => {
  it('serve https:// and answer a client that trusts only the test CA, by IP and by name (SNI)', async () => {
    expect(fake.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/v1$/);
    const byIp = await httpsRequest(`${fake.url}/models`, { ca: ca.caCert });
    expect(byIp.status).toBe(200);
    expect(JSON.parse(byIp.text)).toMatchObject({ object: 'list' });

    const byName = await httpsRequest(`${fake.url}/chat/completions`, {
      ca: ca.caCert,
      servername: 'azure.test',
      method: 'POST',
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'over tls' }] }),
    });
    expect(byName.status).toBe(200);
    expect(JSON.parse(byName.text).choices[0].message.content).toBe('Echo: over tls');
  });

  it('refuses a client that does not trust the test CA', async () => {
    // Node's public roots only.
    await expect(httpsRequest(`${fake.url}/models`)).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    // Another throwaway CA is no better.
    await expect(httpsRequest(`${fake.url}/models`, { ca: otherCa.caCert })).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  });

  it('refuses a server name the certificate does not carry', async () => {
    await expect(httpsRequest(`${fake.url}/models`, { ca: ca.caCert, servername: 'gemini.test' })).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });

  it('keeps plain HTTP the default', async () => {
    const plain = await startFakeOpenAI();
    try {
      expect(plain.url).toMatch(/^http:\/\//);
      expect((await fetch(`${plain.url}/models`)).status).toBe(200);
    } finally {
      await plain.close();
    }
  });
});
