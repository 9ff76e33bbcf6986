/** The model endpoints: prebuilt bodies of `GET /v1/models` and `GET /v1/models/{id}`. */

const CREATED_AT = 1_700_000_000;

export interface ModelBodies {
  list: string;
  byId: Map<string, string>;
}

export function modelBodies(ids: readonly string[]): ModelBodies {
  const model = (id: string): { id: string; object: string; created: number; owned_by: string } => ({ id, object: 'model', created: CREATED_AT, owned_by: 'openai' });
  return {
    list: JSON.stringify({ object: 'list', data: ids.map(model) }),
    byId: new Map(ids.map((id) => [id, JSON.stringify(model(id))])),
  };
}
