import { describe, expect, it } from 'vitest';
import { nearMissReason, textFeatures } from '../../../src/cache/near-miss.ts';

const reason = (a: string, b: string) => nearMissReason(textFeatures(a), textFeatures(b));

describe('near-miss checks', () => {
  it('let paraphrases through', () => {
    expect(reason('What is the capital of France?', 'Tell me the capital city of France.')).toBeNull();
    expect(reason('How do I convert 5 km to miles?', 'Convert five kilometers into miles.')).toBeNull();
    expect(reason('Why does my code not compile?', "Why won't my code compile?")).toBeNull();
    expect(reason('Explain how TCP handshakes work.', 'How does the TCP handshake work?')).toBeNull();
  });

  it('stop different numbers, negation, entities and languages', () => {
    expect(reason('What is 12 times 7?', 'What is 12 times 8?')).toBe('numbers');
    expect(reason('Give me 3 tips for sleep.', 'Give me three tips for sleep.')).toBeNull();
    expect(reason('Is 1,000 bigger than 999?', 'Is 1000 bigger than 999?')).toBeNull();
    expect(reason('Should I use a mutex here?', 'Should I not use a mutex here?')).toBe('negation');
    expect(reason('Is it safe to eat raw eggs?', "Isn't it safe to eat raw eggs?")).toBe('negation');
    expect(reason('What is the capital of France?', 'What is the capital of Spain?')).toBe('entities');
    expect(reason('How do I sort a list in Python?', 'How do I sort a list in Rust?')).toBe('entities');
    expect(reason('What is the capital of France?', 'Quelle est la capitale de la France ?')).toBe('language');
    expect(reason('How are you?', 'Как дела?')).toBe('language');
  });
});

describe('swapped topic check', () => {
  it('stops the same question about another thing, but not a rewording', () => {
    expect(reason('How do I cook rice?', 'How do I cook pasta?')).toBe('topic');
    expect(reason('How do I change a flat tire on a car?', 'How do I change a flat tire on a bike?')).toBe('topic');
    expect(reason('How do I tie a tie?', 'How do I tie a bow tie?')).toBe('topic');
    expect(reason('How do I make a git branch?', 'How can I create a new branch in git?')).toBeNull();
    expect(reason('How do I lower my cholesterol?', 'What can I do to reduce my cholesterol level?')).toBeNull();
  });
});

describe('same-frame rule', () => {
  it('counts entity and negation differences inside the same frame only, so rewordings with aliases still hit', () => {
    // A rewording changes the frame: an abbreviation or a negative verb is part of the rewording.
    expect(reason('What does async/await do in JavaScript?', 'explain async await in JS')).toBeNull();
    expect(reason('How do I file a complaint about a landlord who won’t make repairs?', 'My landlord refuses to fix anything in my apartment. Where can I report them?')).toBeNull();
    expect(reason('How many tablespoons are in a cup?', '1 cup equals how many tbsp?')).toBeNull();
    // The same frame with the one thing that matters changed.
    expect(reason('What is the minimum wage in Washington state?', 'What is the minimum wage in Washington DC?')).toBe('entities');
    expect(reason('Why does my bread rise in the fridge?', "Why doesn't my bread rise in the fridge?")).toBe('negation');
    expect(reason('Convert 5 miles to km', 'Convert 8 miles to km')).toBe('numbers');
  });
});

describe('literal content and format instructions', () => {
  it('refuses questions about other code, errors, files or identifiers, whatever the wording', () => {
    expect(reason('Why does `df.groupby("a")` fail?', 'Why does `df.groupby("b")` fail?')).toBe('literal');
    expect(reason('Fix this:\n```js\nconst x = 1\n```', 'Fix this:\n```js\nconst y = 1\n```')).not.toBeNull();
    expect(reason('What does ERR_SSL_PROTOCOL_ERROR mean?', 'What does ERR_CONNECTION_REFUSED mean?')).toBe('literal');
    expect(reason('How do I read config.yaml in Go?', 'How do I read settings.yaml in Go?')).toBe('literal');
    expect(reason('What does getUserById return?', 'What does getUserByName return?')).toBe('literal');
    expect(reason('Fetch https://api.acme.io/v1/users', 'Fetch https://api.acme.io/v2/users')).not.toBeNull();
    // The same literal, reworded around it, is the same question.
    expect(reason('Why does `df.groupby("a")` fail?', 'What makes `df.groupby("a")` throw an error?')).toBeNull();
  });

  it('refuses another output format or length, and keeps rewordings of the same one', () => {
    expect(reason('Summarise the report as a table', 'Summarise the report as a bulleted list')).toBe('format');
    expect(reason('Give me the config in JSON', 'Give me the config in YAML')).toBe('format');
    expect(reason('Explain TCP briefly', 'Explain TCP in detail')).toBe('format');
    expect(reason('Explain TCP briefly', 'Give a short explanation of TCP')).toBeNull();
    expect(reason('Tóm tắt bài này dưới dạng bảng', 'Tóm tắt bài này thành danh sách')).toBe('format');
  });

  it('reads Vietnamese negation, but not the question particle "không"', () => {
    expect(reason('Vì sao máy tôi chạy chậm?', 'Vì sao máy tôi không chạy?')).toBe('negation');
    expect(reason('Có nên dùng Redis cho cache không?', 'Có nên dùng Redis cho cache?')).toBeNull();
  });

  it('refuses the same words turned around (conversions, translations), but not a phrase moved', () => {
    expect(reason('Convert 5 miles to kilometers.', 'Convert 5 kilometers to miles.')).toBe('direction');
    expect(reason("Translate from German to English: 'Gift'", "Translate from English to German: 'Gift'")).toBe('direction');
    expect(reason('Đổi 30 độ C sang độ F', 'Đổi 30 độ F sang độ C')).toBe('direction');
    expect(reason('In Python, how do I reverse a list?', 'How do I reverse a list in Python?')).toBeNull();
  });
});
