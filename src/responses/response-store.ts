import type { Tenant } from '../pipeline/context.ts';
import type { Store } from '../store/store.ts';

type Json = Record<string, unknown>;

/** One kept response: who may read it, the Response object, and the chat conversation it ended (for follow-ups). */
export interface StoredResponse {
  owner: string;
  response: Json;
  /** Chat messages: the earlier turns, this request's input, then the answer. */
  conversation: Json[];
  /** How many leading messages of `conversation` were input (GET …/input_items lists them). */
  inputLength: number;
}

/** A response belongs to the app that created it (OpenAI scopes them to a project); others get a 404. */
export const ownerOf = (tenant: Tenant) => `${tenant.org}/${tenant.team}/${tenant.app}`;

/**
 * The Responses API's response store: `store: true` answers (OpenAI's default) kept with a TTL in the gateway's store
 * (Redis in production, so every Tollgate process sees them), readable and deletable by their app only, and
 * continued by `previous_response_id`. One key per response; no index, so nothing to clean up but the TTL.
 */
export class ResponseStore {
  private readonly store: Store;
  private readonly ttlMs: () => number;

  constructor(store: Store, ttlMs: () => number) {
    this.store = store;
    this.ttlMs = ttlMs;
  }

  private key(id: string): string {
    return `tollgate:response:${id}`;
  }

  async get(id: string, owner: string): Promise<StoredResponse | null> {
    const raw = await this.store.get(this.key(id));
    if (!raw) return null;
    const stored = JSON.parse(raw) as StoredResponse;
    return stored.owner === owner ? stored : null;
  }

  async put(stored: StoredResponse): Promise<void> {
    await this.store.set(this.key(String(stored.response.id)), JSON.stringify(stored), { ttlMs: this.ttlMs() });
  }

  /** Returns whether the app had such a response. */
  async delete(id: string, owner: string): Promise<boolean> {
    if (!(await this.get(id, owner))) return false;
    return (await this.store.delete(this.key(id))) > 0;
  }
}
