import { createHash, randomBytes } from 'node:crypto';
import type { Store } from '../store/store.ts';

interface Session {
  /** Digest of the admin token the session was opened with: a rotated token ends every session. */
  tokenDigest: string;
}

export const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

const KEY_PREFIX = 'tollgate:dashboard:session:';

/**
 * Signed-in dashboard browsers, in the configured store with the session's lifetime as its TTL: with Redis every
 * Tollgate process behind one address knows every session (sign in on one, read from another); with the memory store
 * they stay in this process and a restart signs everyone out. The cookie carries a random session id, never the admin
 * token, and the store holds only the id's digest, so neither a store dump nor lookup timing gives a usable id away.
 */
export class DashboardSessions {
  readonly #store: Store;

  constructor(options: { store: Store }) {
    this.#store = options.store;
  }

  async open(adminToken: string, ttlMs: number): Promise<string> {
    const id = randomBytes(32).toString('base64url');
    const session: Session = { tokenDigest: sha256(adminToken) };
    await this.#store.set(KEY_PREFIX + sha256(id), JSON.stringify(session), { ttlMs });
    return id;
  }

  /** True while the session exists (its TTL has not run out) and the admin token has not changed since it was opened. */
  async valid(id: string | undefined, adminToken: string | null): Promise<boolean> {
    if (!id || !adminToken) return false;
    const key = KEY_PREFIX + sha256(id);
    const stored = await this.#store.get(key);
    if (stored === null) return false;
    let session: Partial<Session> = {};
    try {
      session = JSON.parse(stored) as Partial<Session>;
    } catch {
      // not a session this code wrote: treated as none
    }
    if (session.tokenDigest !== sha256(adminToken)) {
      await this.#store.delete(key);
      return false;
    }
    return true;
  }

  async close(id: string | undefined): Promise<void> {
    if (id) await this.#store.delete(KEY_PREFIX + sha256(id));
  }
}
