/**
 * Values that look like personal data or secrets but are published placeholders: documentation domains and address
 * ranges, example keys, test card numbers. Nobody's data, and flagging them teaches users to ignore the guardrail.
 */

/** RFC 2606 / 6761 names: example.com/.org/.net and the reserved top-level domains. */
export function isReservedDomain(domain: string): boolean {
  const lower = domain.toLowerCase();
  if (/(?:^|\.)example\.(?:com|org|net|edu)$/.test(lower)) return true;
  const tld = lower.slice(lower.lastIndexOf('.') + 1);
  // Private-use names (ICANN's .internal, mDNS .local, home.arpa, router .lan) reach no mailbox outside one network.
  return ['test', 'invalid', 'example', 'localhost', 'local', 'internal', 'lan', 'localdomain', 'intranet', 'arpa'].includes(tld);
}

/** Test card numbers published by the payment processors (Stripe, Adyen, Braintree, PayPal docs). */
export const TEST_CARD_NUMBERS: ReadonlySet<string> = new Set([
  '4242424242424242', '4000056655665556', '5555555555554444', '2223003122003222', '5200828282828210',
  '5105105105105100', '378282246310005', '371449635398431', '6011111111111117', '6011000990139424',
  '3056930009020004', '36227206271667', '3566002020360505', '6200000000000005', '4111111111111111',
  '4012888888881881', '4222222222222', '5431111111111111', '4000000000000002', '4000000000009995',
  '4000000000000077', '4000000000000341', '4000000000003220', '4000002500003155', '30569309025904',
  '38520000023237', '3530111333300000', '6011000400000000',
]);

/** Secrets from vendor documentation, filled-in templates and redacted values. */
export function isPlaceholderSecret(value: string): boolean {
  if (/EXAMPLE/.test(value)) return true; // AWS's documented AKIAIOSFODNN7EXAMPLE / …EXAMPLEKEY
  if (/(?:x{6,}|\.{3}|\*{3,}|<[^>]*>|\{[^}]*\}|your|redacted|placeholder|changeme|dummy|fake|sample)/i.test(value)) return true;
  // A run of one repeated character or a counting sequence is typed, not generated.
  const core = value.replace(/^[a-z]+[-_]/i, '');
  return /(.)\1{7,}/.test(core) || /(?:0123456789|abcdefghij|1234567890)/i.test(core);
}

/** Words people put where a password goes when they do not mean one. */
const PLACEHOLDER_PASSWORDS = new Set([
  'password', 'passwd', 'pass', 'pwd', 'secret', 'changeme', 'change_me', 'example', 'test', 'null', 'none', 'true',
  'false', 'undefined', 'string', 'required', 'optional', 'hidden', 'redacted', 'xxx', 'yourpassword', 'your_password',
  'mypassword', 'my_password', 'mật khẩu', 'matkhau', '123456', 'admin',
  // Passwords that stand for "a password" in docs, tests and jokes.
  'hunter2', 'password123', 'p@ssw0rd', 'letmein', 'qwerty', 'correcthorsebatterystaple',
]);

export function isPlaceholderPassword(value: string): boolean {
  const lower = value.toLowerCase();
  if (PLACEHOLDER_PASSWORDS.has(lower)) return true;
  if (/^[*x•.#-]+$/i.test(value) || /^\$\{?[A-Z0-9_]+\}?$/i.test(value) || /^%\w+%$/.test(value)) return true;
  if (/^(?:process\.env|os\.environ|env\(|getenv|secrets?\.|vault:|\{\{)/i.test(value)) return true;
  return /[<>{}\[\]]/.test(value) || /redacted|placeholder|your[_-]?pass|example/i.test(value);
}

/** IPv4 addresses that identify no host: loopback, unspecified, broadcast, documentation ranges (RFC 5737). */
export function isNonPersonalIPv4(octets: readonly number[]): boolean {
  const [a, b, c] = octets as [number, number, number, number];
  if (a === 127 || a === 0 || a >= 224) return true; // loopback, "this network", multicast and reserved
  if (octets.join('.') === '1.2.3.4') return true; // the proverbial dummy address
  if (a === 255 || (a === 192 && b === 0 && c === 2) || (a === 198 && b === 51 && c === 100) || (a === 203 && b === 0 && c === 113)) return true;
  return false;
}

/** IPv6: unspecified, loopback, documentation (2001:db8::/32) and multicast. */
export function isNonPersonalIPv6(lower: string): boolean {
  return lower === '::' || lower === '::1' || /^0*:?:0*1$/.test(lower) || lower.startsWith('2001:db8') || lower.startsWith('ff');
}
