import type { PiiType } from './types.ts';

/**
 * Reversible redaction for one request: each distinct value becomes a numbered placeholder ([EMAIL_1], [PHONE_2])
 * that the provider sees instead of it, and the answer gets the value back. Lives on the request context only:
 * never logged, never stored, gone when the request ends.
 */
export class PlaceholderVault {
  private readonly byValue = new Map<string, string>();
  private readonly byPlaceholder = new Map<string, string>();
  private readonly counts = new Map<PiiType, number>();

  placeholderFor(type: PiiType, value: string): string {
    const known = this.byValue.get(value);
    if (known) return known;
    const n = (this.counts.get(type) ?? 0) + 1;
    this.counts.set(type, n);
    const placeholder = `[${type.toUpperCase()}_${n}]`;
    this.byValue.set(value, placeholder);
    this.byPlaceholder.set(placeholder, value);
    return placeholder;
  }

  get size(): number {
    return this.byPlaceholder.size;
  }

  /** The text with every placeholder of this request replaced by its value; others are left alone. */
  restore(text: string): string {
    if (this.byPlaceholder.size === 0 || !text.includes('[')) return text;
    return text.replace(PLACEHOLDER, (placeholder) => this.byPlaceholder.get(placeholder) ?? placeholder);
  }

  /** Values must not survive their request in a log line: the vault prints as its size only. */
  toJSON(): { placeholders: number } {
    return { placeholders: this.size };
  }
}

const PLACEHOLDER = /\[[A-Z_]+_\d+\]/g;
