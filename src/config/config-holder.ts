import { Catalog } from './catalog.ts';
import type { TollgateConfig } from './types.ts';

/** Holds the live config; a reload swaps in a new Catalog atomically (requests read `catalog()` once per phase). */
export class ConfigHolder {
  private current: Catalog;
  private readonly providerBaseUrls: Record<string, string>;

  constructor(config: TollgateConfig, providerBaseUrls: Record<string, string> = {}) {
    this.providerBaseUrls = providerBaseUrls;
    this.current = new Catalog(config, providerBaseUrls);
  }

  catalog(): Catalog {
    return this.current;
  }

  replace(config: TollgateConfig): void {
    this.current = new Catalog(config, this.providerBaseUrls);
  }
}
