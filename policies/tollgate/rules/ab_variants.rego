# A/B tests (data.json, per team):
#   forbidden_variants: {"<alias>": ["<variant>", ...]}  a team may be kept out of some variants of an A/B-tested
#                   alias; a caller who would get a forbidden variant is denied (403), so list only variants the team
#                   must never reach
#   pinned_variants: {"<alias>": "<variant>"}  the variant that serves the team whatever the hash assigned (e.g. a
#                   team that must stay on the control while the test runs); the gateway checks it is a variant
# The gateway assigns variants by a hash of the caller; these rules only deny or reassign.
package tollgate.rules.ab_variants

import data.tollgate.lib

pinned := object.get(lib.team, ["pinned_variants", input.model], null)

route_variant contains pinned if {
	input.variant != null
	pinned != null
}

# The variant that will serve: the pinned one, else the one the caller was assigned.
serving := pinned if {
	input.variant != null
	pinned != null
}

serving := input.variant.name if {
	input.variant != null
	pinned == null
}

deny contains reason if {
	forbidden := object.get(lib.team, ["forbidden_variants", input.model], [])
	serving in forbidden
	reason := concat("", ["team ", input.tenant.team, " may not use variant ", serving, " of ", input.model])
}
