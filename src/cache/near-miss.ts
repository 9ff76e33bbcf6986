import { createHash } from 'node:crypto';

/**
 * Checks that cosine similarity cannot make on its own. Sentence embeddings place "What is 12 times 7?" next to
 * "What is 12 times 8?", "How do I enable X?" next to "How do I disable X?"'s negated twin, "capital of France"
 * next to "capital of Spain", and a question next to its translation: all close in meaning, all wrong answers.
 * So a semantic hit also needs, between the stored question and the new one:
 *  - the same numbers (digits and number words, as a multiset),
 *  - the same negation (whether a negating word occurs at all),
 *  - the same named entities (capitalised or all-caps words that are not common sentence words, plus quoted text),
 *  - no swapped topic: when the two wordings are the same frame but for a content word ("car" / "bike", "rice" /
 *    "pasta", "tie" / "bow tie"), they ask about different things; a rewording changes more words than that,
 *  - the same language (script, then common-word profile),
 *  - the same literal content: code (fenced and inline), quoted strings, URLs, file names, paths and identifiers
 *    (snake_case, camelCase, dotted names, error codes) must match exactly, because a question about other code or
 *    another error needs another answer however alike the wording,
 *  - the same format and length instructions (table / list / JSON / YAML, short / detailed, sentences, words).
 * Only these features are stored with a question, never its text (content words and literals only as short hashes).
 */
export interface TextFeatures {
  numbers: string[];
  negated: boolean;
  entities: string[];
  language: string;
  /** Hashes of the content words (stemmed), for the swapped-topic check. */
  topics: string[];
  /** Hashes of every word (stemmed): how far apart the two wordings are. */
  words: string[];
  /** Hashes of the literal content (code, quoted strings, URLs, file names, identifiers); absent in older entries. */
  literals?: string[];
  /** The format and length instructions, as classes ("table", "short", "json"); absent in older entries. */
  format?: string[];
  /**
   * What each direction word points at, in order ("to:<celsius>", "from:<german>"), hashed: the same words in
   * another order can turn a conversion or translation around. Absent in older entries.
   */
  directions?: string[];
}

const NUMBER_WORDS: Record<string, string> = {
  zero: '0', one: '1', two: '2', three: '3', four: '4', five: '5', six: '6', seven: '7', eight: '8', nine: '9',
  ten: '10', eleven: '11', twelve: '12', thirteen: '13', fourteen: '14', fifteen: '15', sixteen: '16',
  seventeen: '17', eighteen: '18', nineteen: '19', twenty: '20', thirty: '30', forty: '40', fifty: '50',
  sixty: '60', seventy: '70', eighty: '80', ninety: '90', hundred: '100', thousand: '1000', million: '1000000',
  billion: '1000000000', first: '1', second: '2', third: '3', fourth: '4', fifth: '5', half: '0.5', dozen: '12',
  double: '2', twice: '2', triple: '3',
};

const NEGATIONS = new Set([
  'not', 'no', 'never', 'none', 'nobody', 'nothing', 'neither', 'nor', 'nowhere', 'cannot', 'without',
  "can't", "don't", "doesn't", "didn't", "isn't", "aren't", "wasn't", "weren't", "won't", "wouldn't", "shouldn't",
  "couldn't", "hasn't", "haven't", "hadn't", "mustn't", 'cant', 'dont', 'doesnt', 'didnt', 'isnt', 'arent', 'wont',
  'avoid', 'except', 'excluding', 'unlike', 'lack', 'lacks',
]);

/** Capitalised words that start or fill ordinary sentences and name nothing. */
const COMMON_CAPITALISED = new Set(`
a an the i i'm i've i'd i'll me my we our you your it its this that these those there here he she they them his her
what what's whats which who who's whom whose when where why how how's is are was were be been do does did can could
should would will shall may might must please tell give show explain describe list write make help find compare
summarize summarise define translate name provide create suggest recommend calculate convert is isn't are aren't
let let's any some all each every one if in on at for from to of by with about as and or but so not no yes also
just only still then now today tomorrow yesterday kindly quick quickly briefly hey hi hello okay ok thanks thank
could would can in what's
monday tuesday wednesday thursday friday saturday sunday
`.split(/\s+/).filter(Boolean));

/** Function words that tell languages apart in a short question. */
const LANGUAGE_WORDS: Record<string, string[]> = {
  en: ['the', 'is', 'are', 'what', 'how', 'of', 'and', 'to', 'in', 'do', 'does', 'i', 'you', 'a', 'can', 'which', 'why', 'my', 'for', 'with'],
  de: ['der', 'die', 'das', 'ist', 'und', 'wie', 'was', 'ich', 'nicht', 'ein', 'eine', 'mit', 'für', 'zu', 'von', 'den', 'warum', 'welche', 'kann', 'sind'],
  fr: ['le', 'la', 'les', 'est', 'et', 'comment', 'quel', 'quelle', 'je', 'ne', 'pas', 'un', 'une', 'des', 'du', 'de', 'pour', 'avec', 'pourquoi', 'sont'],
  es: ['el', 'la', 'los', 'las', 'es', 'y', 'cómo', 'como', 'qué', 'que', 'cuál', 'yo', 'no', 'un', 'una', 'de', 'para', 'con', 'por', 'son'],
  it: ['il', 'lo', 'la', 'gli', 'è', 'e', 'come', 'che', 'quale', 'io', 'non', 'un', 'una', 'di', 'per', 'con', 'perché', 'sono', 'del', 'della'],
  pt: ['o', 'a', 'os', 'as', 'é', 'e', 'como', 'que', 'qual', 'eu', 'não', 'um', 'uma', 'de', 'para', 'com', 'por', 'são', 'do', 'da'],
  vi: ['là', 'và', 'của', 'có', 'không', 'cho', 'tôi', 'bạn', 'này', 'được', 'trong', 'những', 'các', 'một', 'với', 'như', 'thế', 'nào', 'gì', 'sao'],
  nl: ['de', 'het', 'een', 'is', 'en', 'hoe', 'wat', 'ik', 'niet', 'van', 'voor', 'met', 'waarom', 'welke', 'zijn', 'kan', 'je', 'mijn', 'op', 'te'],
};

const SCRIPTS: Array<[string, RegExp]> = [
  ['cjk', /[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]/u],
  ['cyrillic', /[\u0400-\u04ff]/u],
  ['arabic', /[\u0600-\u06ff]/u],
  ['greek', /[\u0370-\u03ff]/u],
  ['hebrew', /[\u0590-\u05ff]/u],
  ['devanagari', /[\u0900-\u097f]/u],
  ['thai', /[\u0e00-\u0e7f]/u],
];

/**
 * Words that carry no topic: function words, question and request verbs, and the generic nouns and adjectives
 * that rewording swaps freely ("way", "steps", "best", "simple").
 */
const NON_TOPIC_WORDS = new Set(`
a an the i me my we our you your it its this that these those there here he she they them his her their what which
who whom whose when where why how is are was were be been being am do does did doing done can could should would will
shall may might must have has had having of to in on at for from by with about as into onto over under between through
and or but so if then than not no nor also just only very too more most much many some any each every all both either
neither other another such own same few less least lot lots again still yet ever really quite rather please kindly
tell give show explain describe list write make create help find get got use using used need want like know let
provide suggest recommend define summarize summarise mean means meaning say said go going come take put keep set
start begin try way ways thing things step steps method methods process procedure approach tip tips idea ideas
technique techniques reason reasons difference differences example examples kind type types sort part parts
best good better great simple simply easy easily quick quickly fast proper properly right correct correctly main
common different new basic important effective effectively well exactly actually generally typically usually
work works working happen happens cause causes do does one ones term terms word words people person someone
something anything everything nothing someone time times day today can't won't don't doesn't isn't aren't
không có nên là và của cho tôi mình bạn gì sao nào thế được này đó các những một với như thì mà để ở trong vì tại
làm hãy giúp xin ạ nhé vậy đi cách nào ra sao thể cần muốn biết
`.split(/\s+/).filter(Boolean));

/** A rough stem, so "tomatoes"/"tomato" and "boiled"/"boil" count as one word. */
function stem(word: string): string {
  let w = word.replace(/'s$/, '');
  if (w.length > 4 && w.endsWith('ies')) w = `${w.slice(0, -3)}y`;
  else if (w.length > 4 && /(ches|shes|xes|ses|oes)$/.test(w)) w = w.slice(0, -2);
  else if (w.length > 3 && w.endsWith('s') && !w.endsWith('ss')) w = w.slice(0, -1);
  if (w.length > 5 && w.endsWith('ing')) w = w.slice(0, -3);
  else if (w.length > 4 && w.endsWith('ed')) w = w.slice(0, -2);
  return w;
}

const shortHash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 10);

function topicWords(words: string[]): string[] {
  const topics = new Set<string>();
  for (const word of words) {
    if (word.length < 2 || NON_TOPIC_WORDS.has(word) || /^\d/.test(word) || Object.hasOwn(NUMBER_WORDS, word)) continue;
    topics.add(shortHash(stem(word)));
  }
  return [...topics].sort();
}

const wordHashes = (words: string[]) => [...new Set(words.map((word) => shortHash(stem(word))))].sort();

function detectLanguage(words: string[], text: string): string {
  for (const [script, pattern] of SCRIPTS) if (pattern.test(text)) return script;
  let best = 'en';
  let bestScore = 0;
  for (const [language, list] of Object.entries(LANGUAGE_WORDS)) {
    const set = new Set(list);
    const score = words.reduce((sum, word) => sum + (set.has(word) ? 1 : 0), 0);
    // English wins ties: short technical questions share few function words with anything.
    if (score > bestScore) {
      best = language;
      bestScore = score;
    }
  }
  return best;
}

function extractNumbers(text: string, words: string[]): string[] {
  const numbers: string[] = [];
  for (const match of text.matchAll(/\d+(?:[.,]\d+)*/g)) {
    const raw = match[0];
    // 1,000 and 1.000 are thousands; 3.5 and 3,5 are decimals.
    const normalized = /^\d{1,3}([.,]\d{3})+$/.test(raw) ? raw.replace(/[.,]/g, '') : raw.replace(',', '.');
    numbers.push(String(Number(normalized)));
  }
  for (const word of words) if (Object.hasOwn(NUMBER_WORDS, word)) numbers.push(NUMBER_WORDS[word] as string);
  return numbers.sort();
}

function extractEntities(text: string): string[] {
  const entities = new Set<string>();
  for (const match of text.matchAll(/["'`“‘]([^"'`”’]{2,60})["'`”’]/g)) entities.add((match[1] as string).toLowerCase().trim());
  for (const match of text.matchAll(/[\p{L}\p{N}][\p{L}\p{N}'’+#.-]*/gu)) {
    const token = match[0].replace(/[.'’-]+$/, '').replace(/['’]s$/i, '');
    if (!/^\p{Lu}/u.test(token) && !/^[\p{L}\d]*\p{Lu}[\p{L}\d]*$/u.test(token.slice(1))) continue;
    const lower = token.toLowerCase();
    if (COMMON_CAPITALISED.has(lower) || /^\d/.test(token)) continue;
    entities.add(lower);
  }
  return [...entities].sort();
}

/**
 * Vietnamese negators. "không" and "chưa" also close yes/no questions ("Có nên … không?", "Đã … chưa?"): there they
 * are the last word before the question mark or the end, and negate nothing.
 */
const VIETNAMESE_NEGATION = /(?<![\p{L}])(?:không|chẳng|chả|chưa|đừng|chớ|không hề|không được)(?![\p{L}])(?!\s*(?:[?.!]|$))/u;

/** Literal content that must match exactly: code, quotes, URLs, paths, file names and identifiers. */
function extractLiterals(text: string): string[] {
  const literals = new Set<string>();
  let rest = text;
  for (const match of text.matchAll(/```[^\n]*\n?([\s\S]*?)```/g)) {
    literals.add(shortHash(`code:${(match[1] as string).replace(/\s+/g, ' ').trim()}`));
    rest = rest.replace(match[0], ' ');
  }
  for (const match of rest.matchAll(/`([^`\n]+)`/g)) literals.add(shortHash(`lit:${(match[1] as string).trim()}`));
  for (const match of rest.matchAll(/["“]([^"”\n]{1,200})["”]/g)) literals.add(shortHash(`lit:${(match[1] as string).trim()}`));
  for (const match of rest.matchAll(/\bhttps?:\/\/[^\s)>\]"']+/g)) literals.add(shortHash(`lit:${match[0].replace(/[.,;:]+$/, '')}`));
  for (const match of rest.matchAll(/[\p{L}\p{N}_$@#~./\\:-]+/gu)) {
    const token = match[0].replace(/^[.:-]+|[.,:;-]+$/g, '');
    if (isIdentifier(token)) literals.add(shortHash(`lit:${token}`));
  }
  return [...literals].sort();
}

/**
 * An identifier or name a program gave, not a word: snake_case, camelCase,
 * dotted names and file names (os.path.join, main.py), paths, error codes (E0425, ERR_SSL_PROTOCOL), flags (--force).
 */
function isIdentifier(token: string): boolean {
  if (token.length < 2 || /^\d+(?:[.,]\d+)*$/.test(token)) return false;
  if (/^--?[a-z]/i.test(token)) return true;
  if (/[a-z0-9]_[a-z0-9]/i.test(token) || /^_+[a-z]/i.test(token)) return true;
  // camelCase (getUserById); PascalCase names (JavaScript, GitHub) are products as often as classes: entities.
  if (/^[a-z_$][a-z0-9_$]*[A-Z]/.test(token) && token.length > 3) return true;
  // Dotted names and file names (os.path.join, main.py); a capitalised one is a product (Node.js, ASP.NET): entities.
  if (/[\p{L}_$][\p{L}\p{N}_$]*\.[\p{L}_$][\p{L}\p{N}_$]*/u.test(token) && !/\.$/.test(token) && !/^\p{Lu}/u.test(token)) return true;
  // Paths: rooted, relative, two separators or a file extension ("async/await" and "and/or" are words).
  if (/^(?:~|\.{1,2})?[/\\][\p{L}\p{N}_.-]/u.test(token) || /[/\\].*[/\\]/.test(token) || /[/\\][^/\\]*\.[a-z0-9]{1,5}$/i.test(token)) return true;
  if (/^[A-Z]{1,5}\d{2,}$/.test(token) || /^[A-Z]+_[A-Z_]+$/.test(token)) return true;
  return /(?:\(\)|::|=>|->)/.test(token);
}

/** Format and length instructions, as classes: two wordings of one instruction share its class. */
const FORMAT_CLASSES: Array<[string, RegExp]> = [
  ['table', /\b(?:as|in|into) (?:a |the )?(?:markdown )?table\b|\btable (?:format|form)\b|\btabular\b|dạng bảng|thành bảng|bằng bảng|lập bảng/u],
  ['list', /\b(?:bullets?|bullet points?|bulleted|numbered list|checklist)\b|\b(?:as|in|into) (?:a )?list\b|\blist format\b|gạch đầu dòng|danh sách/u],
  ['json', /\bjson\b/],
  ['yaml', /\bya?ml\b/],
  ['xml', /\bxml\b/],
  ['csv', /\bcsv\b/],
  ['markdown', /\bmarkdown\b/],
  ['code-only', /\b(?:only (?:the )?code|code only|just (?:the )?code)\b/],
  ['short', /\b(?:briefly|brief|concise|concisely|in short|tl;?dr|in a nutshell|short (?:answer|explanation|summary|version|overview|description)|keep it short|in a few words)\b|ngắn gọn/u],
  ['long', /\b(?:detailed|in detail|in depth|in-depth|thorough|thoroughly|comprehensive|elaborate)\b|chi tiết/u],
  ['step-by-step', /\bstep[- ]by[- ]step\b|từng bước/u],
  ['counted', /\bin (?:one|a|two|three|four|five|\d+) (?:sentences?|words?|paragraphs?|lines?|bullets?)\b|\b(?:under|at most|max(?:imum)?|no more than) \d+ (?:words?|characters?|sentences?)\b|trong \d+ (?:từ|câu)/u],
  ['poem', /\b(?:poem|haiku|limerick|sonnet|rhyme|verse)\b|bài thơ/u],
  ['formal', /\b(?:formal|formally)\b|trang trọng/u],
  ['casual', /\b(?:casual tone|informal|funny|humou?rous)\b|hài hước/u],
  ['eli5', /\b(?:eli5|like i'?m (?:five|5)|for (?:a )?(?:kids?|child|children|(?:\d+|five|ten)[- ]year[- ]olds?))\b/],
];

function extractFormat(lower: string): string[] {
  return FORMAT_CLASSES.filter(([, pattern]) => pattern.test(lower)).map(([name]) => name);
}

/** Direction words, by the way they point (Vietnamese: sang/thành/đến "to", từ "from"). */
const DIRECTION_WORDS: Record<string, string> = {
  to: 'to', into: 'to', sang: 'to', 'thành': 'to', 'đến': 'to', from: 'from', 'từ': 'from', than: 'than', vs: 'vs', versus: 'vs',
};
/** Words between a direction word and what it points at ("to the metric system", "sang tiếng Việt", "sang độ F"). */
const DIRECTION_FILLER = new Set(['the', 'a', 'an', 'tiếng', 'độ', 'đơn', 'vị', 'ngôn', 'ngữ']);

function extractDirections(words: string[]): string[] {
  const directions: string[] = [];
  for (let i = 0; i < words.length; i += 1) {
    const way = DIRECTION_WORDS[words[i] as string];
    if (!way) continue;
    let j = i + 1;
    while (j < words.length && DIRECTION_FILLER.has(words[j] as string)) j += 1;
    if (j < words.length) directions.push(`${way}:${shortHash(stem(words[j] as string))}`);
  }
  return directions;
}

export function textFeatures(text: string): TextFeatures {
  const lower = text.toLowerCase().replace(/[’]/g, "'");
  const words = lower.match(/[\p{L}\p{N}']+/gu) ?? [];
  return {
    numbers: extractNumbers(text, words),
    negated: words.some((word) => NEGATIONS.has(word) || word.endsWith("n't")) || VIETNAMESE_NEGATION.test(lower),
    literals: extractLiterals(text),
    format: extractFormat(lower),
    entities: extractEntities(text),
    language: detectLanguage(words, text),
    topics: topicWords(words),
    words: wordHashes(words),
    directions: extractDirections(words),
  };
}

const MAX_WORDS_APART = 2;
/** Entity and negation differences count inside the same frame; see sameFrame. */
const FRAME_WORDS_APART = 3;

/** How many words each wording has that the other lacks (stemmed). */
function wordsApart(a: TextFeatures, b: TextFeatures): [number, number] {
  const wordsA = new Set(a.words);
  const wordsB = new Set(b.words);
  return [a.words.filter((w) => !wordsB.has(w)).length, b.words.filter((w) => !wordsA.has(w)).length];
}

/**
 * The same frame: the wordings differ in at most a couple of words on each side. A near-miss keeps the frame and
 * changes the one thing that matters ("capital of Austria" / "capital of Australia", "Why does" / "Why doesn't");
 * a rewording changes the frame (other verbs, other order, abbreviations: "JavaScript" / "JS", "US" / "American"),
 * so an entity or negation difference inside a rewording is taken for the rewording it is.
 */
function sameFrame(a: TextFeatures, b: TextFeatures, maxApart: number): boolean {
  const [onlyA, onlyB] = wordsApart(a, b);
  return onlyA <= maxApart && onlyB <= maxApart;
}

/**
 * The two wordings are one frame with a topic word swapped or added ("How do I cook rice?" / "How do I cook
 * pasta?", "tie a tie" / "tie a bow tie"): a content word on one side is missing on the other.
 */
function swappedTopic(a: TextFeatures, b: TextFeatures): boolean {
  const topicsA = new Set(a.topics);
  const topicsB = new Set(b.topics);
  if (!a.topics.some((t) => !topicsB.has(t)) && !b.topics.some((t) => !topicsA.has(t))) return false;
  return sameFrame(a, b, MAX_WORDS_APART);
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((value, i) => value === b[i]);
/** "a cup" and "1 cup", "each one" and "each": a one is mostly an article in disguise. */
const withoutOnes = (numbers: readonly string[]) => numbers.filter((n) => n !== '1');

export type NearMissReason = 'numbers' | 'negation' | 'entities' | 'topic' | 'language' | 'literal' | 'format' | 'direction';

/** Why two questions that embed close together must not share an answer; null when none of the checks objects. */
export function nearMissReason(stored: TextFeatures, asked: TextFeatures): NearMissReason | null {
  if (stored.language !== asked.language) return 'language';
  if (!sameList(withoutOnes(stored.numbers), withoutOnes(asked.numbers))) return 'numbers';
  // Entries stored before these features existed have neither: they compare as empty.
  if (!sameList(stored.literals ?? [], asked.literals ?? [])) return 'literal';
  if (!sameList(stored.format ?? [], asked.format ?? [])) return 'format';
  if (stored.negated !== asked.negated && sameFrame(stored, asked, FRAME_WORDS_APART)) return 'negation';
  if (!sameList(stored.entities, asked.entities) && sameFrame(stored, asked, FRAME_WORDS_APART)) return 'entities';
  if (swappedTopic(stored, asked)) return 'topic';
  // The same words turned around ("miles to kilometers" / "kilometers to miles", "from German to English"): only
  // between identical word sets, so a rewording that moves a phrase ("in Python, how…" / "how… in Python") is not.
  if (stored.directions && asked.directions && sameList(stored.words, asked.words) && !sameList(stored.directions, asked.directions)) {
    return 'direction';
  }
  return null;
}
