import type { ClaimSource, JwtProviderConfig } from '../config/types.ts';
import type { VerifiedJwt } from '../pipeline/phases.ts';

/** The claim at a dotted path (`org`, `tollgate.team`), as a string; null when absent or not a string/number. */
export function claimAt(claims: Record<string, unknown>, path: string): string | null {
  let value: unknown = claims;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
    value = (value as Record<string, unknown>)[part];
  }
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
}

function resolve(claims: Record<string, unknown>, source: ClaimSource): string | null {
  return typeof source === 'string' ? claimAt(claims, source) : source.value;
}

export type JwtTenant =
  | { ok: true; org: string; team: string; app: string; user: string | null; subject: string }
  | { ok: false; missing: string };

/** Maps a verified payload to a tenant through the provider's claim mapping. */
export function tenantFromJwt(jwt: VerifiedJwt, provider: JwtProviderConfig): JwtTenant {
  const { claims } = jwt;
  const fields = { org: provider.claims.org, team: provider.claims.team, app: provider.claims.app } as const;
  const out: Record<string, string> = {};
  for (const [field, source] of Object.entries(fields)) {
    const value = resolve(claims, source);
    if (value === null) return { ok: false, missing: typeof source === 'string' ? source : field };
    out[field] = value;
  }
  const subject = claimAt(claims, 'sub') ?? '';
  const user = resolve(claims, provider.claims.user ?? 'sub');
  return { ok: true, org: out.org ?? '', team: out.team ?? '', app: out.app ?? '', user, subject };
}

/** A compact JWS (header.payload.signature, base64url, a JSON header): what a bearer JWT looks like. */
export function looksLikeJwt(token: string): boolean {
  return /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}
