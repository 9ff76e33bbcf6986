import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { promptTexts, scanForLeaks } from '../../helpers/leak-scan.ts';

describe('leak scan of a gateway\'s artifacts', () => {
  it('finds keys and prompts in logs, audit files and binary ledgers, and leaves config files alone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'leak-scan-'));
    try {
      const prompt = 'Summarise the quarterly revenue figures for the board';
      await writeFile(join(dir, 'tollgate.log'), `{"msg":"request","authorization":"Bearer tg-live-key-123456"}\n`);
      await writeFile(join(dir, 'audit.jsonl'), `{"input":"${prompt}"}\n`);
      await writeFile(join(dir, 'ledger.sqlite'), Buffer.concat([Buffer.from([0, 1, 2]), Buffer.from('sk-provider-secret-9'), Buffer.from([255])]));
      await writeFile(join(dir, 'tollgate.yaml'), 'keys: [{ key: tg-live-key-123456 }]\n');
      await mkdir(join(dir, 'envoy'));
      await writeFile(join(dir, 'envoy', 'routes.yaml'), 'tg-live-key-123456');
      const leaks = await scanForLeaks(dir, { secrets: ['tg-live-key-123456', 'sk-provider-secret-9'], prompts: [prompt] });
      expect(leaks.map((leak) => `${leak.file}:${leak.kind}`).sort()).toEqual(['audit.jsonl:prompt', 'ledger.sqlite:secret', 'tollgate.log:secret']);
      expect(leaks.every((leak) => leak.value.length <= 13)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('takes the user and system texts a provider received, long enough to mean something', () => {
    const texts = promptTexts([
      { messages: [{ role: 'system', content: 'You are a careful financial analyst.' }, { role: 'user', content: 'hi' }, { role: 'assistant', content: 'An answer that is long enough to count.' }] },
      { input: [{ type: 'input_text', text: 'Explain the difference between stocks and bonds' }] },
      { system: 'Anthropic system prompt that is long', messages: [{ role: 'user', content: [{ type: 'text', text: 'A user question in content parts form' }] }] },
    ]);
    expect(texts.sort()).toEqual([
      'A user question in content parts form', 'Anthropic system prompt that is long', 'Explain the difference between stocks and bonds',
      'You are a careful financial analyst.',
    ]);
  });
});
