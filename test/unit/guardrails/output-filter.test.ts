import { describe, expect, it } from 'vitest';
import { filterCompletion, StreamAnswerFilter, type OutputRule } from '../../../src/guardrails/output/answer-filter.ts';
import { TextWindow } from '../../../src/guardrails/output/text-window.ts';
import type { PiiType } from '../../../src/guardrails/pii/types.ts';

const rule = (redact: PiiType[], block: PiiType[] = [], window = 48): OutputRule => ({ redact: new Set(redact), block: new Set(block), window });

const ANSWER = 'Sure. Write to lan.tran@vinamilk.com.vn or call 0987 654 321; the server is 81.2.69.142. Bye!';
const REDACTED = 'Sure. Write to [REDACTED_EMAIL] or call [REDACTED_PHONE]; the server is [REDACTED_IP_ADDRESS]. Bye!';

/** An OpenAI stream carrying `text` as content deltas of `size` characters, with a usage chunk and [DONE]. */
function stream(text: string, size: number): string {
  const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini' };
  const events = [{ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] }];
  for (let i = 0; i < text.length; i += size) events.push({ ...base, choices: [{ index: 0, delta: { content: text.slice(i, i + size) } as never, finish_reason: null }] });
  events.push({ ...base, choices: [{ index: 0, delta: {} as never, finish_reason: 'stop' as never }] });
  return `${events.map((event) => `data: ${JSON.stringify(event)}\n\n`).join('')}data: [DONE]\n\n`;
}

/** Feeds `body` to a filter in network pieces cut at `cuts`, returns what the client receives. */
function run(filter: StreamAnswerFilter, body: Buffer, cuts: number[]): string {
  let out = '';
  let last = 0;
  for (const cut of [...cuts, body.length]) {
    out += filter.push(body.subarray(last, cut), cut === body.length).toString('utf8');
    last = cut;
  }
  return out;
}

/** The content the client reads, checking every event is well-formed SSE with JSON data. */
function contentOf(sse: string): { content: string; done: boolean; errors: Array<{ code: string }> } {
  expect(sse.endsWith('\n\n')).toBe(true);
  let content = '';
  let done = false;
  const errors: Array<{ code: string }> = [];
  for (const event of sse.split('\n\n').slice(0, -1)) {
    expect(event.startsWith('data: ')).toBe(true);
    const data = event.slice(6);
    if (data === '[DONE]') {
      done = true;
      continue;
    }
    const parsed = JSON.parse(data) as { choices?: Array<{ delta?: { content?: string } }>; error?: { code: string } };
    if (parsed.error) errors.push(parsed.error);
    for (const choice of parsed.choices ?? []) content += choice.delta?.content ?? '';
  }
  return { content, done, errors };
}

describe('TextWindow', () => {
  it('holds back at most the window, and catches a value split across pieces', () => {
    const window = new TextWindow(rule(['email'], [], 16));
    let out = '';
    for (const piece of ['Hello there, please write to lan.tr', 'an@vinamilk.c', 'om.vn for details and much more text here']) {
      out += window.push(piece);
    }
    expect(out.length).toBeGreaterThan(0);
    out += window.flush();
    expect(out).toBe('Hello there, please write to [REDACTED_EMAIL] for details and much more text here');
  });

  it('uses released text as context for labels without releasing it twice', () => {
    const window = new TextWindow(rule(['national_id'], [], 16));
    const out = window.push('Your number (số CMND) is ') + window.push('212345678 as recorded.') + window.flush();
    expect(out).toBe('Your number (số CMND) is [REDACTED_NATIONAL_ID] as recorded.');
  });
});

describe('StreamAnswerFilter', () => {
  const body = Buffer.from(stream(ANSWER, 7));

  it('masks values split across content deltas and across network chunks cut at every byte, framing intact', () => {
    for (let cut = 1; cut < body.length; cut += 1) {
      const result = contentOf(run(new StreamAnswerFilter(rule(['email', 'phone', 'ip_address'])), body, [cut]));
      expect(result.content, `cut at ${cut}`).toBe(REDACTED);
      expect(result.done).toBe(true);
      expect(result.errors).toEqual([]);
    }
  });

  it('does not delay the first content beyond one window and the word in progress', () => {
    const filter = new StreamAnswerFilter(rule(['email'], [], 16));
    const long = 'The quick brown fox jumps over the lazy dog again and again.';
    const sse = Buffer.from(stream(long, 8));
    // Everything up to the 5th content chunk (40 characters in): at least 40 - 16 characters, less the word the cut
    // fell in (at most 6 here), must have left.
    const fifth = sse.toString('utf8').split('\n\n').slice(0, 6).join('\n\n').length + 2;
    const early = contentOf(filter.push(sse.subarray(0, fifth), false).toString('utf8'));
    expect(early.content.length).toBeGreaterThanOrEqual(40 - 16 - 6);
  });

  it('ends a stream with an error event, never [DONE], when a blocked type appears', () => {
    const text = 'Here is the key: sk-proj-Q7vT2mXk9LpR4sW8nZ3bY6cH1dF5gJ0a and more text that never arrives';
    const filter = new StreamAnswerFilter(rule([], ['secret']));
    const result = contentOf(run(filter, Buffer.from(stream(text, 5)), [40, 200]));
    expect(result.errors).toEqual([expect.objectContaining({ code: 'output_blocked' })]);
    expect(result.done).toBe(false);
    expect(result.content).not.toContain('sk-proj');
    expect(result.content).not.toContain('never arrives');
    expect(filter.verdict()).toMatchObject({ blocked: 'secret', found: { secret: 1 } });
  });

  it('passes a clean stream through unchanged in content and events', () => {
    const text = 'Nothing personal in this answer at all, just a longer sentence.';
    const clean = Buffer.from(stream(text, 9));
    const out = run(new StreamAnswerFilter(rule(['email'])), clean, [50, 51, 300]);
    expect(contentOf(out)).toEqual({ content: text, done: true, errors: [] });
    expect(out.split('\n\n').length).toBe(clean.toString('utf8').split('\n\n').length);
  });
});

describe('filterCompletion', () => {
  const completion = (content: string) => Buffer.from(JSON.stringify({
    id: 'chatcmpl-1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 5, completion_tokens: 9, total_tokens: 14 },
  }));

  it('masks values in a JSON answer and keeps the usage', () => {
    const { body, verdict } = filterCompletion(completion(ANSWER), rule(['email', 'phone', 'ip_address']));
    const parsed = JSON.parse(body!.toString('utf8'));
    expect(parsed.choices[0].message.content).toBe(REDACTED);
    expect(parsed.usage.total_tokens).toBe(14);
    expect(verdict).toMatchObject({ rewritten: true, blocked: null, found: { email: 1, phone: 1, ip_address: 1 } });
  });

  it('empties a blocked answer with finish_reason content_filter', () => {
    const { body, verdict } = filterCompletion(completion('password: Tr0ub4dor&3'), rule([], ['secret']));
    const parsed = JSON.parse(body!.toString('utf8'));
    expect(parsed.choices[0]).toMatchObject({ message: { content: '' }, finish_reason: 'content_filter' });
    expect(verdict.blocked).toBe('secret');
  });

  it('returns no new body when nothing matched', () => {
    expect(filterCompletion(completion('all clear'), rule(['email'])).body).toBeNull();
  });
});

describe('reversible redaction', () => {
  it('numbers each distinct value, restores placeholders split across chunks, and never prints values', async () => {
    const { PlaceholderVault } = await import('../../../src/guardrails/pii/placeholder-vault.ts');
    const { redactPii } = await import('../../../src/guardrails/pii/scan.ts');
    const vault = new PlaceholderVault();
    const original = 'Mail jane@acme-corp.com or lan@vinamilk.com.vn, then jane@acme-corp.com; call 0912 345 678.';
    const masked = redactPii(original, new Set<PiiType>(['email', 'phone']), vault);
    expect(masked).toBe('Mail [EMAIL_1] or [EMAIL_2], then [EMAIL_1]; call [PHONE_1].');
    expect(JSON.stringify({ vault })).toBe('{"vault":{"placeholders":3}}');
    const body = Buffer.from(stream(`Echo: ${masked}`, 4));
    for (let cut = 1; cut < body.length; cut += 7) {
      const filter = new StreamAnswerFilter({ redact: new Set(), block: new Set(), window: 24, restore: (text) => vault.restore(text) });
      expect(contentOf(run(filter, body, [cut])).content).toBe(`Echo: ${original}`);
    }
    expect(vault.restore('an [EMAIL_9] we never issued stays')).toBe('an [EMAIL_9] we never issued stays');
  });
});
