import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROVIDER_KEY, startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';

/**
 * JWT/OIDC for apps: Envoy's jwt_authn verifies tokens against a JWKS (a local file for one issuer, a URL for the
 * other), Tollgate maps the verified payload's claims to a tenant. Keys and tokens are made here with node:crypto.
 */
interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  jwk: Record<string, unknown>;
}

function newKey(kid: string): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' } };
}

const b64url = (value: object | Buffer) =>
  (Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value))).toString('base64url');

function jwt(key: SigningKey, claims: Record<string, unknown>): string {
  const now = Math.floor(Date.now() / 1000);
  const header = b64url({ alg: 'RS256', typ: 'JWT', kid: key.kid });
  const payload = b64url({ iat: now, exp: now + 300, ...claims });
  const signature = sign('sha256', Buffer.from(`${header}.${payload}`), key.privateKey);
  return `${header}.${payload}.${b64url(signature)}`;
}

const chat = (model = 'gpt-4o-mini') => ({ model, messages: [{ role: 'user' as const, content: 'hello jwt' }] });

async function errorOf(promise: Promise<unknown>): Promise<{ status: number; code: unknown; type: unknown }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof OpenAI.APIError) return { status: error.status ?? 0, code: error.code, type: error.type };
    throw error;
  }
  throw new Error('expected an error');
}

describe('JWT authentication through Envoy jwt_authn', () => {
  const corpKey = newKey('corp-1');
  const idpKey = newKey('idp-1');
  const strangerKey = newKey('corp-1'); // same kid, different key: a forged signature
  let jwks: Server;
  let jwksFetches = 0;
  let h: Harness;

  const corpToken = (claims: Record<string, unknown> = {}) =>
    jwt(corpKey, { iss: 'https://corp.example', aud: 'tollgate', sub: 'alice', tollgate: { team: 'research', app: 'notebook' }, ...claims });

  beforeAll(async () => {
    const jwksFile = join(tmpdir(), `tollgate-jwks-${process.pid}-${Date.now()}.json`);
    await writeFile(jwksFile, JSON.stringify({ keys: [corpKey.jwk] }));
    jwks = createServer((req, res) => {
      jwksFetches++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [idpKey.jwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const jwksPort = (jwks.address() as AddressInfo).port;
    const config = testConfig();
    config.auth = {
      jwt: {
        providers: {
          // One issuer per org: the org is fixed, team and app come from nested claims.
          corp: {
            issuer: 'https://corp.example', audiences: ['tollgate'], jwks_file: jwksFile,
            claims: { org: { value: 'acme' }, team: 'tollgate.team', app: 'tollgate.app' },
          },
          // An OIDC provider whose JWKS Envoy fetches; every tenant field is a claim, the user is the email.
          idp: {
            issuer: 'https://idp.example', jwks_uri: `http://127.0.0.1:${jwksPort}/.well-known/jwks.json`,
            claims: { org: 'org', team: 'team', app: 'app', user: 'email' },
          },
        },
      },
    };
    h = await startHarness({ config });
  });
  afterAll(async () => {
    await h?.stop();
    jwks?.close();
  });

  it('maps a verified token from a JWKS file to its tenant (the team\'s model scope applies)', async () => {
    const client = h.client(corpToken());
    h.fake.reset();
    const completion = await client.chat.completions.create(chat());
    expect(completion.choices[0]?.message.content).toBe('Echo: hello jwt');
    // The token never reaches the provider: Tollgate injected the provider's own key.
    expect(h.fake.requests.at(-1)?.headers.authorization).toBe(`Bearer ${PROVIDER_KEY}`);
    // research/notebook may not use gpt-4o: the tenant really is the one the claims name.
    expect(await errorOf(client.chat.completions.create(chat('gpt-4o')))).toMatchObject({ status: 403, code: 'model_not_allowed' });
  });

  it('verifies tokens against a remote JWKS URL, with the user from a claim', async () => {
    const token = jwt(idpKey, { iss: 'https://idp.example', sub: 'u-7', email: 'bob@corp.example', org: 'acme', team: 'platform', app: 'playground' });
    const completion = await h.client(token).chat.completions.create({ ...chat('gpt-4o'), stream: true });
    let text = '';
    for await (const chunk of completion) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('Echo: hello jwt');
    expect(jwksFetches).toBeGreaterThan(0);
  });

  it('rejects expired, forged, wrong-audience, wrong-issuer and unsigned tokens with 401', async () => {
    const now = Math.floor(Date.now() / 1000);
    const bad = [
      corpToken({ exp: now - 600, iat: now - 900 }),
      jwt(strangerKey, { iss: 'https://corp.example', aud: 'tollgate', sub: 'mallory', tollgate: { team: 'platform', app: 'playground' } }),
      corpToken({ aud: 'someone-else' }),
      corpToken({ iss: 'https://evil.example' }),
      `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ iss: 'https://corp.example', aud: 'tollgate', sub: 'x', tollgate: { team: 'platform', app: 'playground' } })}.`,
    ];
    for (const token of bad) {
      expect(await errorOf(h.client(token).chat.completions.create(chat()))).toMatchObject({
        status: 401, code: 'invalid_token', type: 'authentication_error',
      });
    }
  });

  it('answers 403 for a valid token whose claims name no configured tenant', async () => {
    expect(await errorOf(h.client(corpToken({ tollgate: { team: 'research', app: 'ghost' } })).chat.completions.create(chat())))
      .toMatchObject({ status: 403, code: 'unknown_tenant' });
    expect(await errorOf(h.client(corpToken({ tollgate: { team: 'research' } })).chat.completions.create(chat())))
      .toMatchObject({ status: 403, code: 'unknown_tenant' });
  });

  it('keeps virtual keys working beside JWTs, and trusts no client-sent payload header', async () => {
    const completion = await h.client(h.key).chat.completions.create(chat());
    expect(completion.choices[0]?.message.content).toBe('Echo: hello jwt');
    // A client cannot claim a verified payload: only jwt_authn writes that metadata.
    const forged = new OpenAI({
      apiKey: 'not-a-key', baseURL: h.baseUrl, maxRetries: 0,
      defaultHeaders: { 'x-jwt-payload': b64url({ iss: 'https://corp.example', tollgate: { team: 'platform', app: 'playground' } }) },
    });
    expect(await errorOf(forged.chat.completions.create(chat()))).toMatchObject({ status: 401, code: 'invalid_api_key' });
  });
});
