# A/B tests: a team may be kept out of some variants of an A/B-tested alias (data.json, per team:
# forbidden_variants: {"<alias>": ["<variant>", ...]}). The gateway assigns variants by a hash of the caller; a
# caller assigned a forbidden variant is denied (403), so list only variants the team must never reach.
package tollgate.rules.ab_variants

import data.tollgate.lib

deny contains reason if {
	input.variant != null
	forbidden := object.get(lib.team, ["forbidden_variants", input.model], [])
	input.variant.name in forbidden
	reason := concat("", ["team ", input.tenant.team, " may not use variant ", input.variant.name, " of ", input.model])
}
