import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const VIRTUAL_KEY_PREFIX = 'tg-';
const SECRET_BYTES = 24;
/** `tg-` + base64url of 24 bytes (32 characters, no padding). */
const KEY_PATTERN = /^tg-[A-Za-z0-9_-]{32}$/;

/** A new virtual key: `tg-` + base64url(24 random bytes), 192 bits of entropy. */
export function generateVirtualKey(): string {
  return VIRTUAL_KEY_PREFIX + randomBytes(SECRET_BYTES).toString('base64url');
}

/** True when the text has the shape of a Tollgate virtual key (lets lookups skip the store for garbage). */
export function looksLikeVirtualKey(text: string): boolean {
  return KEY_PATTERN.test(text);
}

/**
 * What we store instead of the key: sha256, hex.
 *
 * A fast, unsalted hash is the right tool here, unlike for passwords: a virtual key is 192 random bits, so there
 * is no dictionary to try and no brute force that can get through 2^192 guesses, however fast each guess is.
 * Salting and slow KDFs (bcrypt, scrypt, argon2) defend low-entropy secrets; they would only cost us a
 * per-request CPU bill and, worse, make lookup-by-hash impossible (a salt differs per record). Being
 * deterministic, sha256 lets the hot path find a key with one GET on its hash. A leaked store reveals no key.
 */
export function hashKey(plaintext: string): string {
  return createHash('sha256').update(plaintext, 'utf8').digest('hex');
}

/** Safe to show: first 7 characters (`tg-` + 4) and the last 4, e.g. `tg-AbCd…wXyZ`. */
export function keyPreview(plaintext: string): string {
  return `${plaintext.slice(0, 7)}…${plaintext.slice(-4)}`;
}

/**
 * Compares two secrets or digests in time that depends only on their length, never on how many leading characters
 * match (a plain `===` stops at the first difference). Lookups go by hash already, so a timing difference could
 * never reveal a key; this keeps every comparison of secret material constant-time all the same.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  if (left.length !== right.length) {
    // Still spend the comparison, so a length mismatch is not faster than a content mismatch.
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}
