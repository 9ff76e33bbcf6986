import type { ProviderConfig } from '../config/types.ts';
import { providerAdapter } from '../providers/registry.ts';

/**
 * OpenAI and Azure OpenAI give a 429/503's retry hint as `retry-after-ms` besides `retry-after`, and some
 * OpenAI-compatible servers send only the milliseconds one. Clients (and Envoy's own rate-limited back-off, which
 * reads `retry-after`) expect `Retry-After` in seconds, so when only the milliseconds hint came it is added, rounded
 * up (at least 1: 0 would invite a retry that fails again). A Lua filter on the provider's cluster does it, on the
 * response headers alone: no ext_proc round trip (Tollgate skips response headers) and nothing for providers that
 * never send the header. It sits next to the codec, so it runs first on the response: Envoy's retry back-off and the
 * per-attempt filter of a chain (which drops the hint before a fallback) see the header it adds.
 */
const SCRIPT = `
function envoy_on_response(handle)
  local headers = handle:headers()
  local status = headers:get(":status")
  if (status ~= "429" and status ~= "503") or headers:get("retry-after") ~= nil then return end
  local ms = tonumber(headers:get("retry-after-ms") or "")
  if ms == nil or ms < 0 or ms ~= ms then return end
  headers:add("retry-after", string.format("%d", math.max(1, math.ceil(ms / 1000))))
end
`;

/** Whether a provider may give its retry hint only in milliseconds (its adapter says so). */
export const hintInMilliseconds = (provider: ProviderConfig): boolean => providerAdapter(provider.type).retryAfterInMs === true;

export function retryAfterFromMsFilter() {
  return {
    name: 'envoy.filters.http.lua',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua',
      default_source_code: { inline_string: SCRIPT.trim() },
    },
  };
}
