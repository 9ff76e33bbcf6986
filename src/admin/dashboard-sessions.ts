import { createHash, randomBytes } from 'node:crypto';

interface Session {
  expiresAt: number;
  /** Digest of the admin token the session was opened with: a rotated token ends every session. */
  tokenDigest: string;
}

export const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/**
 * Signed-in dashboard browsers. The cookie carries a random session id, never the admin token; the map is keyed by
 * the id's digest so a lookup leaks nothing about stored ids through timing. In memory: a restart signs everyone
 * out, and each Tollgate process has its own sessions (the admin port is per process anyway).
 */
export class DashboardSessions {
  readonly #sessions = new Map<string, Session>();
  readonly #now: () => number;
  readonly #max: number;

  constructor(options: { now: () => number; maxSessions?: number }) {
    this.#now = options.now;
    this.#max = options.maxSessions ?? 1000;
  }

  open(adminToken: string, ttlMs: number): string {
    this.#sweep();
    // Oldest first (insertion order): a flood of logins evicts old sessions instead of growing without bound.
    while (this.#sessions.size >= this.#max) this.#sessions.delete(this.#sessions.keys().next().value as string);
    const id = randomBytes(32).toString('base64url');
    this.#sessions.set(sha256(id), { expiresAt: this.#now() + ttlMs, tokenDigest: sha256(adminToken) });
    return id;
  }

  /** True while the session exists, has not expired and the admin token has not changed since it was opened. */
  valid(id: string | undefined, adminToken: string | null): boolean {
    if (!id || !adminToken) return false;
    const key = sha256(id);
    const session = this.#sessions.get(key);
    if (!session) return false;
    if (session.expiresAt <= this.#now() || session.tokenDigest !== sha256(adminToken)) {
      this.#sessions.delete(key);
      return false;
    }
    return true;
  }

  close(id: string | undefined): void {
    if (id) this.#sessions.delete(sha256(id));
  }

  #sweep(): void {
    const now = this.#now();
    for (const [key, session] of this.#sessions) if (session.expiresAt <= now) this.#sessions.delete(key);
  }
}
