import type { Logger } from 'pino';
import type { Store } from '../store/store.ts';

export const KILL_SWITCH_SCOPES = ['provider', 'model', 'feature'] as const;
export type KillSwitchScope = (typeof KILL_SWITCH_SCOPES)[number];

export interface KillSwitch {
  scope: KillSwitchScope;
  name: string;
  reason: string | null;
  since: string;
}

/** One set lists the switches that are on; one key per switch holds its details. Both in the shared store. */
const SET_KEY = 'tg:killswitch:on';
const member = (scope: KillSwitchScope, name: string) => `${scope}:${name}`;
/** A member of the set (`scope:name`) names its details key. */
const detailKeyOf = (setMember: string) => `tg:killswitch:${setMember}`;
const detailKey = (scope: KillSwitchScope, name: string) => detailKeyOf(member(scope, name));

/**
 * Emergency switches an operator flips through the admin API: a provider, a model or a feature goes dark on every
 * Tollgate process. They live in the shared store; each process re-reads the set every `refreshMs` (one SMEMBERS,
 * off the request path), so a switch is effective everywhere within that time, and requests check an in-memory set.
 * If the store is unreachable the last known switches stay in force.
 */
export class KillSwitches {
  private readonly store: Store;
  private readonly logger: Logger;
  private active = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private lastFailureLog = 0;

  constructor(deps: { store: Store; logger: Logger }) {
    this.store = deps.store;
    this.logger = deps.logger;
  }

  start(refreshMs: number): Promise<void> {
    this.stop();
    this.timer = setInterval(() => void this.refresh(), refreshMs);
    this.timer.unref();
    return this.refresh();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  isOn(scope: KillSwitchScope, name: string | null | undefined): boolean {
    return Boolean(name) && this.active.has(member(scope, name as string));
  }

  async refresh(): Promise<void> {
    try {
      this.active = new Set(await this.store.setMembers(SET_KEY));
    } catch (error) {
      if (Date.now() - this.lastFailureLog > 10_000) {
        this.lastFailureLog = Date.now();
        this.logger.warn({ err: error }, 'kill switches could not be refreshed; keeping the last known ones');
      }
    }
  }

  async turnOn(scope: KillSwitchScope, name: string, reason: string | null): Promise<KillSwitch> {
    const entry: KillSwitch = { scope, name, reason, since: new Date().toISOString() };
    await this.store.set(detailKey(scope, name), JSON.stringify(entry));
    await this.store.addToSet(SET_KEY, member(scope, name));
    await this.refresh();
    return entry;
  }

  /** Returns whether the switch was on. */
  async turnOff(scope: KillSwitchScope, name: string): Promise<boolean> {
    const removed = await this.store.removeFromSet(SET_KEY, member(scope, name));
    await this.store.delete(detailKey(scope, name));
    await this.refresh();
    return removed > 0;
  }

  async list(): Promise<KillSwitch[]> {
    const members = (await this.store.setMembers(SET_KEY)).sort();
    const details = members.length ? await this.store.getMany(members.map(detailKeyOf)) : [];
    return members.map((m, index) => {
      const stored = details[index];
      if (stored) return JSON.parse(stored) as KillSwitch;
      const [scope, ...rest] = m.split(':');
      return { scope: scope as KillSwitchScope, name: rest.join(':'), reason: null, since: '' };
    });
  }
}
