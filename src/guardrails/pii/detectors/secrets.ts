import { entropyBitsPerChar } from '../checksums.ts';
import { textBefore } from '../context.ts';
import { isPlaceholderPassword, isPlaceholderSecret } from '../placeholders.ts';
import { patternDetector, type Detector, type Range } from './detector.ts';

/**
 * Credentials: provider and cloud keys by their published prefixes, JWTs, private-key blocks, URLs with a password,
 * passwords and tokens assigned in config, and long random tokens. Documentation placeholders are not secrets.
 */

/** Random-looking: a generated key mixes letters and digits; a typed placeholder or an identifier does not. */
const looksGenerated = (value: string) => /\d/.test(value) && /[a-z]/i.test(value) && !isPlaceholderSecret(value);

/** A key by its vendor prefix: [name, pattern]. The prefix makes a false match unlikely; placeholders still drop. */
const PREFIXED_KEYS: Array<[string, RegExp, string?]> = [
  ['OpenAI / Anthropic / OpenAI-compatible key (sk-…)', /(?<![\w-])sk-(?:[a-z0-9]+-){0,3}[A-Za-z0-9_-]{20,}/g, 'sk-'],
  ['Stripe secret or restricted key', /(?<!\w)(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}/g, '_'],
  ['AWS access key id', /(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA)[A-Z0-9]{16}(?![A-Z0-9])/g],
  ['GitHub token', /(?<!\w)(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,251})(?!\w)/g, '_'],
  ['GitLab token', /(?<!\w)glpat-[A-Za-z0-9_-]{20,}/g, 'glpat-'],
  ['Slack token', /(?<!\w)xox[abposr]-[A-Za-z0-9-]{10,}/g, 'xox'],
  ['Slack app token', /(?<!\w)xapp-\d-[A-Za-z0-9-]{20,}/g, 'xapp-'],
  ['Google API key', /(?<![\w-])AIza[0-9A-Za-z_-]{35}(?![\w-])/g, 'AIza'],
  ['Google OAuth access token', /(?<![\w.])ya29\.[0-9A-Za-z_-]{20,}/g, 'ya29.'],
  ['Hugging Face token', /(?<!\w)hf_[A-Za-z0-9]{30,}/g, 'hf_'],
  ['npm token', /(?<!\w)npm_[A-Za-z0-9]{36}(?!\w)/g, 'npm_'],
  ['SendGrid key', /(?<!\w)SG\.[\w-]{16,32}\.[\w-]{30,64}/g, 'SG.'],
  ['Groq / Replicate / Perplexity key', /(?<!\w)(?:gsk_|r8_|pplx-)[A-Za-z0-9]{30,}/g],
  ['Azure storage account key', /(?<=AccountKey=)[A-Za-z0-9+/]{60,}={0,2}/g, 'AccountKey='],
];

const prefixedKeys: Detector[] = PREFIXED_KEYS.map(([name, pattern, requires]) =>
  patternDetector({ type: 'secret', name, pattern, requires, check: (value) => looksGenerated(value) || /^(?:AKIA|ASIA)/.test(value) && !isPlaceholderSecret(value) }),
);

/** PEM private keys, whole block; a template with "..." for a body is not one. */
const privateKeyBlock = patternDetector({
  type: 'secret', name: 'private key block', requires: '-----BEGIN',
  pattern: /-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY( BLOCK)?-----[\s\S]*?-----END \1PRIVATE KEY\2-----/g,
  check: (value) => (value.replace(/-----[^-]+-----|\s/g, '').match(/[A-Za-z0-9+/=]/g)?.length ?? 0) >= 40,
});

const jwt = patternDetector({
  type: 'secret', name: 'JSON Web Token', requires: 'eyJ',
  pattern: /(?<![\w-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g,
});

/** AWS secret access keys have no prefix: 40 base64 characters named as such just before. */
const awsSecretKey: Detector = {
  prefilter: /aws|secret/i,
  ...patternDetector({
  type: 'secret', name: 'AWS secret access key',
  pattern: /(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g,
  check: (value, text, start) =>
    /aws|secret[_ -]?access|secretaccesskey/.test(textBefore(text, start, 64)) && /[A-Z]/.test(value) && /[a-z]/.test(value) &&
    /\d/.test(value) && !isPlaceholderSecret(value),
  }),
};

/** A URL carrying a password (database, broker, cache, FTP, HTTP basic): the whole URL is the secret. */
const credentialUrl = patternDetector({
  type: 'secret', name: 'URL with a password', requires: '://',
  pattern: /(?<![\w+.-])[a-z][a-z0-9+.-]{1,20}:\/\/[^\s:/@'"`<>]*:(?<pw>[^\s@/'"`<>]+)@[^\s'"`<>]+/dg,
  check: (value) => {
    const password = /:\/\/[^:/@]*:([^@/]+)@/.exec(value)?.[1];
    if (!password || isPlaceholderPassword(decodeURIComponentSafe(password))) return false;
    const trimmed = value.replace(/[.,;:)\]}]+$/, '');
    return [0, trimmed.length] as Range;
  },
});

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * A password or token assigned in config, code or prose: `password: hunter2!`, `"api_key": "…"`, `DB_PASSWORD=…`,
 * `mật khẩu là …`. Only the value is the secret. Prose ("my password is …") needs a value that is not a plain word.
 */
const ASSIGNMENT = new RegExp(
  String.raw`(?<![a-z])(?<name>[a-z_]*pass(?:word|wd|phrase)|pwd|mật khẩu|mat khau|[a-z_]*secret(?:[_-]?key)?|` +
    String.raw`api[_-]?key|apikey|access[_-]?token|auth[_-]?token|refresh[_-]?token|token)` +
    String.raw`["']?\s*(?<op>:=|=>|[:=]|\bis\b|là(?=\s))\s*(?:bearer\s+)?["'\x60]?(?<v>[^\s"'\x60,;}<>)]{4,200})`,
  'dgi',
);

function assignedSecretVerdict(name: string, op: string, raw: string): number {
  const value = raw.replace(/[.,:)\]]+$/, '');
  if (value.length < 4 || isPlaceholderPassword(value) || /^[!&*|>$%]/.test(value)) return 0;
  const isPassword = /pass|pwd|mật khẩu|mat khau/.test(name);
  if (!isPassword) {
    // Tokens and keys are generated: long and random.
    return value.length >= 12 && looksGenerated(value) && entropyBitsPerChar(value) >= 3.3 ? value.length : 0;
  }
  // Passwords are chosen: any non-placeholder that is not a plain word; in prose, a stronger sign.
  const mixed = /\d/.test(value) || /[^\p{L}\p{N}_]/u.test(value) || (/[a-z]/.test(value) && /[A-Z]/.test(value));
  const prose = op === 'is' || op === 'là';
  if (prose) return mixed && value.length >= 6 ? value.length : 0;
  return mixed || value.length >= 10 ? value.length : 0;
}

const assignedSecret: Detector = {
  type: 'secret',
  prefilter: /pass|pwd|secret|key|token|mật khẩu|mat khau/i,
  name: 'password or token assigned in config',
  find(text: string, into: Range[]): void {
    ASSIGNMENT.lastIndex = 0;
    for (let match = ASSIGNMENT.exec(text); match; match = ASSIGNMENT.exec(text)) {
      const groups = match.groups as { name: string; op: string; v: string };
      const length = assignedSecretVerdict(groups.name.toLowerCase(), groups.op.toLowerCase(), groups.v);
      const start = match.indices!.groups!.v![0];
      if (length > 0) into.push([start, start + length]);
    }
  },
};

const TOKEN_CHARS = new Uint8Array(128);
for (const char of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_=-') TOKEN_CHARS[char.charCodeAt(0)] = 1;

/** Runs of token characters 32–256 long. A loop, because a regex here costs 3× more on long prompts. */
function tokenRuns(text: string, into: Range[]): void {
  let start = -1;
  for (let i = 0; i <= text.length; i += 1) {
    const code = i < text.length ? text.charCodeAt(i) : 0;
    if (code < 128 && TOKEN_CHARS[code] === 1) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      if (i - start >= 32 && i - start <= 256) into.push([start, i]);
      start = -1;
    }
  }
}

/**
 * A long random token with no known prefix: upper and lower case and digits, dense in information. Hex (hashes,
 * UUIDs), identifiers, paths and base64 payloads that are data (images, integrity hashes) are not secrets.
 */
/** Blocks of public material (certificates, public keys, CSRs): their base64 lines are not secrets. */
const PUBLIC_PEM_BLOCK = /-----BEGIN ((?:[A-Z0-9]+ )*(?:CERTIFICATE|PUBLIC KEY)(?: REQUEST| BLOCK)?)-----[\s\S]*?(?:-----END \1-----|$)/g;
/** An OpenSSH public key (authorized_keys, known_hosts): the key type, then base64. */
const SSH_PUBLIC_KEY_BEFORE = /(?:ssh-(?:rsa|dss|ed25519)|ecdsa-sha2-nistp\d+|sk-ssh-ed25519@openssh\.com)\s+$/;

function publicBlocks(text: string): Range[] {
  if (!text.includes('-----BEGIN')) return [];
  const ranges: Range[] = [];
  PUBLIC_PEM_BLOCK.lastIndex = 0;
  for (let match = PUBLIC_PEM_BLOCK.exec(text); match; match = PUBLIC_PEM_BLOCK.exec(text)) ranges.push([match.index, match.index + match[0].length]);
  return ranges;
}

const randomToken: Detector = {
  type: 'secret',
  name: 'long random token (32+ characters)',
  find(text: string, into: Range[]): void {
    const runs: Range[] = [];
    tokenRuns(text, runs);
    if (runs.length === 0) return;
    const publicRanges = publicBlocks(text);
    for (const [start, end] of runs) {
      if (publicRanges.some(([from, to]) => start >= from && end <= to)) continue;
      if (SSH_PUBLIC_KEY_BEFORE.test(text.slice(Math.max(0, start - 40), start))) continue;
      const value = text.slice(start, end).replace(/[=]+$/, '');
      if (!/[A-Z]/.test(value) || !/[a-z]/.test(value) || !/\d/.test(value)) continue;
      if (/^[0-9a-f-]+$/i.test(value) || entropyBitsPerChar(value) < 4.3 || isPlaceholderSecret(value)) continue;
      if (/(?:base64,|sha\d{3}-|integrity|sha\d*[:=]|hash|digest|checksum|nonce|commit)\W{0,3}$/i.test(text.slice(Math.max(0, start - 16), start))) continue;
      into.push([start, end]);
    }
  },
};

/** In priority order: the specific recognisers before the generic ones. */
export const SECRET_DETECTORS: readonly Detector[] = [privateKeyBlock, credentialUrl, jwt, ...prefixedKeys, awsSecretKey, assignedSecret, randomToken];
