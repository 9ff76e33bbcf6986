# A per-team model allow-list (data.json: models). Teams without a list may use any model the gateway config
# grants them; the gateway's own model scopes still apply on top.
package tollgate.rules.model_allowlist

import data.tollgate.lib

deny contains reason if {
	allowed := lib.team.models
	not input.model in allowed
	reason := concat("", ["team ", input.tenant.team, " may not use model ", input.model])
}
