# Redaction, token caps and caching: what the gateway changes about an allowed request.
package tollgate.rules.request_limits

import data.tollgate.lib

# Secrets (API keys, tokens) are masked for everyone; a team may add more types (data.json: redact).
redact contains type if {
	some type in object.get(lib.defaults, "redact", [])
	type in lib.pii_types
}

redact contains type if {
	some type in object.get(lib.team, "redact", [])
	type in lib.pii_types
}

token_cap contains lib.team.max_tokens

# An answer to a prompt with personal data must not be served to someone else from the cache.
forbid_cache contains "the request carries personal data" if {
	object.get(lib.defaults, "forbid_cache_with_pii", false)
	lib.has_pii
}
