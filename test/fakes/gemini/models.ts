/** `GET /v1beta/models` and `GET /v1beta/models/{model}`: the Model resources the fake serves. */

const CHAT_METHODS = ['generateContent', 'countTokens', 'streamGenerateContent'];
const EMBEDDING_METHODS = ['embedContent', 'batchEmbedContents'];

function model(id: string, methods: string[]): Record<string, unknown> {
  const chat = methods === CHAT_METHODS;
  return {
    name: `models/${id}`,
    version: '001',
    displayName: id,
    description: `Fake ${id} (Tollgate tests)`,
    inputTokenLimit: chat ? 1048576 : 2048,
    outputTokenLimit: chat ? 65536 : 1,
    supportedGenerationMethods: methods,
  };
}

export function modelBodies(chat: readonly string[], embeddings: readonly string[]): { list: string; byId: Map<string, string> } {
  const all = [...chat.map((id) => model(id, CHAT_METHODS)), ...embeddings.map((id) => model(id, EMBEDDING_METHODS))];
  const byId = new Map(all.map((m) => [String(m.name).slice('models/'.length), JSON.stringify(m)]));
  return { list: JSON.stringify({ models: all }), byId };
}
