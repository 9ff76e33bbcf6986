/** Sleeps a fake server can cancel all at once when it closes, plus its `closed` flag. */

/** Resolves on the next turn of the event loop. */
export const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class ServerTimers {
  /** Set by `stopAll()`; pending work checks it after each wait. */
  closed = false;
  readonly #timers = new Set<NodeJS.Timeout>();

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#timers.delete(t);
        resolve();
      }, ms);
      this.#timers.add(t);
    });
  }

  /** Marks the server closed and drops every pending sleep (their promises never settle). */
  stopAll(): void {
    this.closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }
}
