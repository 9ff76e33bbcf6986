import { createHash } from 'node:crypto';
import type { ConfigHolder } from '../config/config-holder.ts';
import type { TenantRef } from '../config/catalog.ts';
import { AuthFailureLimiter } from '../auth/failure-limiter.ts';
import { looksLikeJwt, tenantFromJwt } from '../auth/jwt-tenant.ts';
import { errors } from '../errors/errors.ts';
import type { GatewayError } from '../errors/gateway-error.ts';
import type { RequestContext } from '../pipeline/context.ts';
import type { Stage, StageResult } from '../pipeline/stage.ts';

/** What the auth stage needs from the key store (src/keys/key-store.ts implements it). */
export interface KeyResolver {
  lookup(plaintext: string): Promise<
    | { status: 'valid'; record: TenantRef & { id: string } }
    | { status: 'unknown' }
    | { status: 'revoked' | 'expired'; record: TenantRef & { id: string } }
  >;
}

/** Keys declared in config (hashes only) or given at start (the demo key), checked before the store. */
export type StaticKeys = Map<string /* sha256 hex */, TenantRef & { id: string }>;

const CLIENT_CREDENTIAL_HEADERS = ['authorization', 'api-key', 'x-api-key'];

function presentedKey(headers: Map<string, string>): string | null {
  const authorization = headers.get('authorization');
  if (authorization) {
    const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    return match?.[1]?.trim() || null;
  }
  return headers.get('api-key')?.trim() || headers.get('x-api-key')?.trim() || null;
}

/**
 * Authenticates the caller and resolves the tenant: a JWT that Envoy's jwt_authn filter verified (its payload comes
 * from Envoy's dynamic metadata, never from a header), or else a Tollgate virtual key. Failed authentications are
 * counted per client address; a blocked address gets 429 with Retry-After. The client's credential headers are
 * always removed from the upstream request: a client key or token never reaches a provider.
 */
export function authStage(deps: {
  keys: KeyResolver;
  staticKeys: () => StaticKeys;
  config: ConfigHolder;
  failures?: AuthFailureLimiter;
}): Stage {
  const fail = async (ctx: RequestContext, error: GatewayError): Promise<StageResult> => {
    const blockedFor = (await deps.failures?.recordFailure(ctx.sourceAddress)) ?? 0;
    if (blockedFor > 0) ctx.log.warn({ source: ctx.sourceAddress, blocked_seconds: blockedFor }, 'address blocked after repeated failed authentications');
    return { respond: error };
  };
  return {
    name: 'auth',
    async onRequestHeaders(ctx: RequestContext): Promise<StageResult> {
      for (const header of CLIENT_CREDENTIAL_HEADERS) ctx.upstream.removeHeader(header);
      const retryAfter = deps.failures?.retryAfterSeconds(ctx.sourceAddress) ?? 0;
      if (retryAfter > 0) return { respond: errors.tooManyAuthFailures(retryAfter) };
      const catalog = deps.config.catalog();

      if (ctx.verifiedJwt) {
        const provider = catalog.config.auth?.jwt.providers[ctx.verifiedJwt.provider];
        if (!provider) return fail(ctx, errors.invalidToken());
        const mapped = tenantFromJwt(ctx.verifiedJwt, provider);
        if (!mapped.ok) return { respond: errors.unknownTenant(mapped.missing) };
        if (!catalog.tenantExists(mapped)) return { respond: errors.unknownTenant(null) };
        ctx.tenant = {
          org: mapped.org,
          team: mapped.team,
          app: mapped.app,
          keyId: `jwt:${ctx.verifiedJwt.provider}:${mapped.subject}`,
          user: mapped.user ?? (ctx.requestHeaders.get('x-tollgate-user') || null),
          feature: ctx.requestHeaders.get('x-tollgate-feature') || null,
        };
        return;
      }

      const key = presentedKey(ctx.requestHeaders);
      if (!key) return { respond: errors.missingKey() };
      // A JWT that jwt_authn did not verify (bad signature, issuer, audience, expired): never a virtual key.
      if (looksLikeJwt(key) && Object.keys(catalog.config.auth?.jwt.providers ?? {}).length > 0) {
        return fail(ctx, errors.invalidToken());
      }
      // Keys are found by their SHA-256 hash, never compared as strings: the time a lookup takes says nothing about
      // how much of a guess was right.
      const hash = createHash('sha256').update(key).digest('hex');
      let record = deps.staticKeys().get(hash);
      if (!record) {
        const found = await deps.keys.lookup(key).catch((error: unknown) => {
          ctx.log.error({ err: error }, 'key store lookup failed');
          throw errors.storeUnavailable();
        });
        if (found.status !== 'valid') return fail(ctx, errors.invalidKey(found.status));
        record = found.record;
      }
      if (!catalog.tenantExists(record)) {
        // The key outlived its app in config: treat like a revoked key.
        return fail(ctx, errors.invalidKey('revoked'));
      }
      ctx.tenant = {
        org: record.org,
        team: record.team,
        app: record.app,
        keyId: record.id,
        user: ctx.requestHeaders.get('x-tollgate-user') || null,
        feature: ctx.requestHeaders.get('x-tollgate-feature') || null,
      };
    },
  };
}
