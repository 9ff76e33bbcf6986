# "HR may not send PII to Anthropic": a team may list vendors that must never receive a request carrying
# personal data (data.json: pii_blocked_vendors). Those vendors' providers are removed from the candidates,
# so the request goes to another vendor, or is refused (403) when no other vendor serves the model.
package tollgate.rules.pii_vendors

import data.tollgate.lib

exclude contains {"provider": candidate.provider, "reason": reason} if {
	lib.has_pii
	some vendor in object.get(lib.team, "pii_blocked_vendors", [])
	some candidate in input.candidates
	candidate.vendor == vendor
	reason := concat("", ["team ", input.tenant.team, " may not send personal data (", concat(", ", sort(lib.pii_types)), ") to ", vendor])
}
