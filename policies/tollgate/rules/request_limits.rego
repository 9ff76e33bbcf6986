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

# A team may have the masked values put back in its answers (data.json: "redact_mode": "reversible"): the provider
# sees [EMAIL_1], the caller reads the address again. The mapping lives only in the gateway, for one request.
reversible_redaction contains "the team's redaction is reversible" if lib.team.redact_mode == "reversible"

token_cap contains lib.team.max_tokens

# An answer to a prompt with personal data must not be served to someone else from the cache.
forbid_cache contains "the request carries personal data" if {
	object.get(lib.defaults, "forbid_cache_with_pii", false)
	lib.has_pii
}
