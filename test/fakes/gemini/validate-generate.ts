/**
 * Validation of a `GenerateContentRequest` (`:generateContent`, `:streamGenerateContent`) like Google's API does
 * it: unknown fields anywhere, types, roles, empty contents and parts, the `data` oneof of parts, base64 data, and
 * function responses that answer a function call of the turn before. Returns what the answer depends on.
 */
import { isObj } from '../shared/json.ts';
import type { Json } from '../shared/json.ts';
import { GoogleError, fieldError, requestError } from './errors.ts';
import { at, message, optBool, optNumber, optString, optStruct, repeated } from './proto-json.ts';
import { validateSchema, validateToolConfig, validateTools } from './validate-schema.ts';
import type { ToolChoice } from './validate-schema.ts';

const REQUEST = 'GenerateContentRequest';
const V1BETA = 'type.googleapis.com/google.ai.generativelanguage.v1beta';

const REQUEST_FIELDS: ReadonlySet<string> = new Set(['model', 'contents', 'tools', 'toolConfig', 'safetySettings', 'systemInstruction', 'generationConfig', 'cachedContent']);
const CONTENT_FIELDS: ReadonlySet<string> = new Set(['role', 'parts']);
const PART_FIELDS: ReadonlySet<string> = new Set([
  'text', 'inlineData', 'functionCall', 'functionResponse', 'fileData', 'executableCode', 'codeExecutionResult',
  'thought', 'thoughtSignature', 'videoMetadata',
]);
/** The members of Part's `data` oneof: exactly one must be set. */
const PART_DATA = ['text', 'inlineData', 'functionCall', 'functionResponse', 'fileData', 'executableCode', 'codeExecutionResult'] as const;
const BLOB_FIELDS: ReadonlySet<string> = new Set(['mimeType', 'data']);
const FILE_DATA_FIELDS: ReadonlySet<string> = new Set(['mimeType', 'fileUri']);
const FUNCTION_CALL_FIELDS: ReadonlySet<string> = new Set(['id', 'name', 'args']);
const FUNCTION_RESPONSE_FIELDS: ReadonlySet<string> = new Set(['id', 'name', 'response', 'willContinue', 'scheduling']);
const SAFETY_FIELDS: ReadonlySet<string> = new Set(['category', 'threshold']);
const GENERATION_FIELDS: ReadonlySet<string> = new Set([
  'stopSequences', 'responseMimeType', 'responseSchema', 'responseJsonSchema', 'responseModalities', 'candidateCount',
  'maxOutputTokens', 'temperature', 'topP', 'topK', 'seed', 'presencePenalty', 'frequencyPenalty', 'responseLogprobs',
  'logprobs', 'enableEnhancedCivicAnswers', 'speechConfig', 'thinkingConfig', 'mediaResolution',
]);
const THINKING_FIELDS: ReadonlySet<string> = new Set(['includeThoughts', 'thinkingBudget', 'thinkingLevel']);
const MIME_TYPES = ['text/plain', 'application/json', 'application/xml', 'application/yaml', 'text/x.enum'];
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

export interface GeminiPartIn {
  text?: string;
  thoughtSignature?: string;
  functionCall?: { name: string; args: Json };
  functionResponse?: { name: string; response: Json };
}

/** The image types Gemini reads inline. */
const IMAGE_MIME_TYPES: ReadonlySet<string> = new Set(['image/png', 'image/jpeg', 'image/webp', 'image/heic', 'image/heif']);

export interface GenerateRequest {
  contents: Array<{ role: string; parts: GeminiPartIn[] }>;
  toolNames: string[];
  toolChoice: ToolChoice;
  json: boolean;
  /** responseSchema or responseJsonSchema: a JSON answer is valid against it. */
  responseSchema: unknown;
  candidateCount: number;
  maxOutputTokens: number | undefined;
  thinkingBudget: number | undefined;
  systemText: string;
  /** Attach a thought signature to the first function call of the answer (Gemini 3 models). */
  signsCalls: boolean;
}

function validatePart(raw: unknown, path: string): GeminiPartIn {
  const part = message(raw, path, PART_FIELDS, `${V1BETA}.Part`);
  const set = PART_DATA.filter((k) => part[k] !== undefined);
  if (set.length === 0) throw requestError(REQUEST, `${path}.data`, "required oneof field 'data' must have one initialized field");
  if (set.length > 1) throw fieldError(path, `Invalid value at '${path}' (oneof), oneof field 'data' is already set. Cannot set '${set[1]}'`);
  optBool(part.thought, at(path, 'thought'));
  const out: GeminiPartIn = {};
  const signature = optString(part.thoughtSignature, at(path, 'thoughtSignature'));
  if (signature !== undefined) {
    if (!BASE64.test(signature)) throw fieldError(at(path, 'thoughtSignature'), `Invalid value at '${at(path, 'thoughtSignature')}' (TYPE_BYTES), Base64 decoding failed for "${signature.slice(0, 40)}"`);
    out.thoughtSignature = signature;
  }
  if (part.text !== undefined) {
    const text = optString(part.text, at(path, 'text')) ?? '';
    if (text === '') throw new GoogleError(400, 'Unable to submit request because it has an empty text parameter. Add a value to the parameter and try again.');
    out.text = text;
  }
  if (part.inlineData !== undefined) {
    const blobPath = at(path, 'inlineData');
    const blob = message(part.inlineData, blobPath, BLOB_FIELDS, `${V1BETA}.Blob`);
    const mimeType = optString(blob.mimeType, at(blobPath, 'mimeType'));
    if (!mimeType) throw requestError(REQUEST, at(blobPath, 'mimeType'), 'mime_type must be specified');
    if (mimeType.startsWith('image/') && !IMAGE_MIME_TYPES.has(mimeType)) throw new GoogleError(400, `Unsupported MIME type: ${mimeType}`);
    const data = optString(blob.data, at(blobPath, 'data')) ?? '';
    if (!BASE64.test(data)) throw fieldError(at(blobPath, 'data'), `Invalid value at '${at(blobPath, 'data')}' (TYPE_BYTES), Base64 decoding failed for "${data.slice(0, 40)}"`);
  }
  if (part.fileData !== undefined) {
    const filePath = at(path, 'fileData');
    const file = message(part.fileData, filePath, FILE_DATA_FIELDS, `${V1BETA}.FileData`);
    optString(file.mimeType, at(filePath, 'mimeType'));
    if (!optString(file.fileUri, at(filePath, 'fileUri'))) throw requestError(REQUEST, at(filePath, 'fileUri'), 'file_uri must be specified');
  }
  if (part.functionCall !== undefined) {
    const callPath = at(path, 'functionCall');
    const call = message(part.functionCall, callPath, FUNCTION_CALL_FIELDS, `${V1BETA}.FunctionCall`);
    const name = optString(call.name, at(callPath, 'name'));
    if (!name) throw requestError(REQUEST, at(callPath, 'name'), 'Name cannot be empty.');
    out.functionCall = { name, args: optStruct(call.args, at(callPath, 'args')) ?? {} };
  }
  if (part.functionResponse !== undefined) {
    const responsePath = at(path, 'functionResponse');
    const response = message(part.functionResponse, responsePath, FUNCTION_RESPONSE_FIELDS, `${V1BETA}.FunctionResponse`);
    const name = optString(response.name, at(responsePath, 'name'));
    if (!name) throw requestError(REQUEST, at(responsePath, 'name'), 'Name cannot be empty.');
    const payload = optStruct(response.response, at(responsePath, 'response'));
    if (payload === undefined) throw requestError(REQUEST, at(responsePath, 'response'), 'response must be specified');
    out.functionResponse = { name, response: payload };
  }
  return out;
}

export function validateContent(raw: unknown, path: string, roleRequired: boolean): { role: string; parts: GeminiPartIn[] } {
  const content = message(raw, path, CONTENT_FIELDS, `${V1BETA}.Content`);
  const role = optString(content.role, at(path, 'role')) ?? (roleRequired ? '' : 'user');
  if (roleRequired && role !== 'user' && role !== 'model') throw new GoogleError(400, 'Please use a valid role: user, model.');
  const rawParts = repeated(content.parts, at(path, 'parts'), `${V1BETA}.Part`);
  if (rawParts.length === 0) throw requestError(REQUEST, at(path, 'parts'), 'contents.parts must not be empty.');
  return { role, parts: rawParts.map((p, i) => validatePart(p, `${at(path, 'parts')}[${i}]`)) };
}

/**
 * Gemini 3 models refuse a model turn whose first function call comes back without the thought signature they
 * attached to it (parallel calls: only the first is signed).
 */
function checkThoughtSignatures(contents: GenerateRequest['contents']): void {
  contents.forEach((content, i) => {
    if (content.role !== 'model') return;
    const j = content.parts.findIndex((p) => p.functionCall);
    const first = content.parts[j];
    if (first?.functionCall && first.thoughtSignature === undefined) {
      throw new GoogleError(400, `Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call \`default_api:${first.functionCall.name}\` , position ${i + 1}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.`);
    }
  });
}

/** A function response must answer a call of the model turn just before, one response per call. */
function checkFunctionResponses(contents: GenerateRequest['contents']): void {
  contents.forEach((content, i) => {
    const responses = content.parts.filter((p) => p.functionResponse);
    if (responses.length === 0) return;
    const calls = (contents[i - 1]?.role === 'model' ? contents[i - 1]?.parts ?? [] : []).filter((p) => p.functionCall).map((p) => p.functionCall?.name);
    if (calls.length === 0) throw new GoogleError(400, 'Please ensure that function response turn comes immediately after a function call turn.');
    content.parts.forEach((part, j) => {
      const name = part.functionResponse?.name;
      if (name !== undefined && !calls.includes(name)) {
        throw requestError(REQUEST, `contents[${i}].parts[${j}].function_response.name`, `function response name "${name}" does not match any function call of the preceding model turn.`);
      }
    });
    if (responses.length !== calls.length) {
      throw new GoogleError(400, 'Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.');
    }
  });
}

function validateGeneration(raw: unknown): Json {
  if (raw === undefined || raw === null) return {};
  const path = 'generation_config';
  const g = message(raw, path, GENERATION_FIELDS, `${V1BETA}.GenerationConfig`);
  const stops = repeated(g.stopSequences, at(path, 'stopSequences'), 'TYPE_STRING');
  stops.forEach((s, i) => optString(s, `${at(path, 'stopSequences')}[${i}]`));
  if (stops.length > 5) throw requestError(REQUEST, at(path, 'stopSequences'), 'stop_sequences must have at most 5 entries.');
  const temperature = optNumber(g.temperature, at(path, 'temperature'), 'TYPE_FLOAT');
  if (temperature !== undefined && (temperature < 0 || temperature > 2)) throw requestError(REQUEST, at(path, 'temperature'), 'temperature must be in the range [0.0, 2.0].');
  const topP = optNumber(g.topP, at(path, 'topP'), 'TYPE_FLOAT');
  if (topP !== undefined && (topP < 0 || topP > 1)) throw requestError(REQUEST, at(path, 'topP'), 'top_p must be in the range [0.0, 1.0].');
  optNumber(g.topK, at(path, 'topK'), 'TYPE_INT32');
  optNumber(g.seed, at(path, 'seed'), 'TYPE_INT32');
  optNumber(g.presencePenalty, at(path, 'presencePenalty'), 'TYPE_FLOAT');
  optNumber(g.frequencyPenalty, at(path, 'frequencyPenalty'), 'TYPE_FLOAT');
  const count = optNumber(g.candidateCount, at(path, 'candidateCount'), 'TYPE_INT32');
  if (count !== undefined && (count < 1 || count > 8)) throw requestError(REQUEST, at(path, 'candidateCount'), 'candidate_count must be in the range [1, 8].');
  const max = optNumber(g.maxOutputTokens, at(path, 'maxOutputTokens'), 'TYPE_INT32');
  if (max !== undefined && max < 1) throw requestError(REQUEST, at(path, 'maxOutputTokens'), 'max_output_tokens must be positive.');
  const mime = optString(g.responseMimeType, at(path, 'responseMimeType'));
  if (mime !== undefined && !MIME_TYPES.includes(mime)) {
    throw requestError(REQUEST, at(path, 'responseMimeType'), `allowed mimetypes are ${MIME_TYPES.map((m) => `\`${m}\``).join(', ')}.`);
  }
  if (g.responseSchema !== undefined) {
    validateSchema(g.responseSchema, at(path, 'responseSchema'));
    if (mime !== 'application/json' && mime !== 'text/x.enum') {
      throw requestError(REQUEST, at(path, 'responseSchema'), 'response_mime_type must be one of [application/json, text/x.enum] when response_schema is set.');
    }
  }
  if (g.responseJsonSchema !== undefined) {
    if (g.responseSchema !== undefined) throw requestError(REQUEST, at(path, 'responseJsonSchema'), 'response_schema and response_json_schema cannot both be set.');
    if (!isObj(g.responseJsonSchema)) throw requestError(REQUEST, at(path, 'responseJsonSchema'), 'response_json_schema must be a JSON object.');
    if (mime !== 'application/json') throw requestError(REQUEST, at(path, 'responseJsonSchema'), 'response_mime_type must be application/json when response_json_schema is set.');
  }
  const thinking = g.thinkingConfig === undefined ? {} : message(g.thinkingConfig, at(path, 'thinkingConfig'), THINKING_FIELDS, `${V1BETA}.ThinkingConfig`);
  optBool(thinking.includeThoughts, at(path, 'thinkingConfig.includeThoughts'));
  const budget = optNumber(thinking.thinkingBudget, at(path, 'thinkingConfig.thinkingBudget'), 'TYPE_INT32');
  return { ...g, candidateCount: count, maxOutputTokens: max, responseMimeType: mime, thinkingBudget: budget };
}

/** `signsCalls`: the model is a Gemini 3 one, which signs its function calls and wants the signatures back. */
/** The thinking budgets a model family takes, as Gemini checks them (-1: dynamic, always allowed). */
const THINKING_LIMITS: ReadonlyArray<readonly [string, { zero: boolean; min: number; max: number }]> = [
  ['gemini-2.5-pro', { zero: false, min: 128, max: 32768 }],
  ['gemini-2.5-flash-lite', { zero: true, min: 512, max: 24576 }],
  ['gemini-2.5-flash', { zero: true, min: 0, max: 24576 }],
];

function checkThinkingBudget(budget: number | undefined, model: string): void {
  const limits = THINKING_LIMITS.find(([prefix]) => model.startsWith(prefix))?.[1];
  if (budget === undefined || budget === -1 || !limits) return;
  if (budget === 0 && !limits.zero) throw new GoogleError(400, 'Budget 0 is invalid. This model only works in thinking mode.');
  if (budget !== 0 && (budget < limits.min || budget > limits.max)) {
    throw new GoogleError(400, `The thinking budget ${budget} is invalid. Please choose a value between ${limits.min} and ${limits.max}.`);
  }
}

export function validateGenerate(body: unknown, signsCalls = false, model = ''): GenerateRequest {
  const b = message(body, '', REQUEST_FIELDS, `${V1BETA}.GenerateContentRequest`);
  const rawContents = repeated(b.contents, 'contents', `${V1BETA}.Content`);
  if (rawContents.length === 0) throw requestError(REQUEST, 'contents', 'contents is not specified');
  const contents = rawContents.map((c, i) => validateContent(c, `contents[${i}]`, true));
  checkFunctionResponses(contents);
  if (signsCalls) checkThoughtSignatures(contents);

  let systemText = '';
  if (b.systemInstruction !== undefined) {
    const system = validateContent(b.systemInstruction, 'system_instruction', false);
    systemText = system.parts.map((p) => p.text ?? '').join(' ');
  }
  for (const [i, raw] of repeated(b.safetySettings, 'safety_settings', `${V1BETA}.SafetySetting`).entries()) {
    const s = message(raw, `safety_settings[${i}]`, SAFETY_FIELDS, `${V1BETA}.SafetySetting`);
    optString(s.category, `safety_settings[${i}].category`);
    optString(s.threshold, `safety_settings[${i}].threshold`);
  }
  optString(b.cachedContent, 'cached_content');
  const toolNames = validateTools(b.tools);
  const toolChoice = validateToolConfig(b.toolConfig, toolNames);
  const g = validateGeneration(b.generationConfig);
  checkThinkingBudget(typeof g.thinkingBudget === 'number' ? g.thinkingBudget : undefined, model);
  return {
    contents,
    toolNames,
    toolChoice,
    json: g.responseMimeType === 'application/json',
    responseSchema: g.responseSchema ?? g.responseJsonSchema,
    candidateCount: typeof g.candidateCount === 'number' ? g.candidateCount : 1,
    maxOutputTokens: typeof g.maxOutputTokens === 'number' ? g.maxOutputTokens : undefined,
    thinkingBudget: typeof g.thinkingBudget === 'number' ? g.thinkingBudget : undefined,
    systemText,
    signsCalls,
  };
}


const COUNT_FIELDS: ReadonlySet<string> = new Set(['contents', 'generateContentRequest']);

/**
 * `:countTokens`: either `contents` alone or a whole `generateContentRequest` (which must name the model, as
 * `models/{model}`), never both; the request inside is checked as strictly as a generation.
 */
export function validateCount(body: unknown, model: string): GenerateRequest {
  const b = message(body, '', COUNT_FIELDS, `${V1BETA}.CountTokensRequest`);
  if (b.generateContentRequest === undefined) return validateGenerate({ contents: b.contents }, false, model);
  if (b.contents !== undefined) throw new GoogleError(400, 'contents and generate_content_request are mutually exclusive; set only one.');
  const request = message(b.generateContentRequest, 'generate_content_request', REQUEST_FIELDS, `${V1BETA}.GenerateContentRequest`);
  if (request.model === undefined) throw new GoogleError(400, 'generate_content_request.model is required.');
  if (request.model !== `models/${model}`) throw new GoogleError(400, `generate_content_request.model must be models/${model}, the model in the URL.`);
  return validateGenerate(request, false, model);
}
