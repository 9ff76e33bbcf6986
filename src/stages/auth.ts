import { createHash } from 'node:crypto';
import type { ConfigHolder } from '../config/config-holder.ts';
import type { TenantRef } from '../config/catalog.ts';
import { errors } from '../errors/errors.ts';
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
 * Authenticates the Tollgate virtual key and resolves the tenant. The client's credential headers are always
 * removed from the upstream request: a client key never reaches a provider.
 */
export function authStage(deps: { keys: KeyResolver; staticKeys: () => StaticKeys; config: ConfigHolder }): Stage {
  return {
    name: 'auth',
    async onRequestHeaders(ctx: RequestContext): Promise<StageResult> {
      for (const header of CLIENT_CREDENTIAL_HEADERS) ctx.upstream.removeHeader(header);
      const key = presentedKey(ctx.requestHeaders);
      if (!key) return { respond: errors.missingKey() };
      const hash = createHash('sha256').update(key).digest('hex');
      let record = deps.staticKeys().get(hash);
      if (!record) {
        const found = await deps.keys.lookup(key).catch((error: unknown) => {
          ctx.log.error({ err: error }, 'key store lookup failed');
          throw errors.storeUnavailable();
        });
        if (found.status !== 'valid') return { respond: errors.invalidKey(found.status) };
        record = found.record;
      }
      if (!deps.config.catalog().tenantExists(record)) {
        // The key outlived its app in config: treat like a revoked key.
        return { respond: errors.invalidKey('revoked') };
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
