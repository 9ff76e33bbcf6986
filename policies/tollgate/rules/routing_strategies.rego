# Routing strategies under policy (data.json, per team):
#   forbid_strategies: ["latency", "cost", "semantic"]  the team's requests never use them: latency falls back to
#                   the plain chain, a cost or semantic virtual model to its first allowed member (semantic: default)
#   route_models: {"<virtual model>": "<member>"}   the member that serves the team, whatever the strategy picks
# Strategies only ever choose among the providers this decision allows; these rules decide how they choose.
package tollgate.rules.routing_strategies

import data.tollgate.lib

forbid_strategy contains strategy if some strategy in object.get(lib.team, "forbid_strategies", [])

route_model contains model if {
	model := object.get(lib.team, ["route_models", input.model], null)
	model != null
	model in input.routing.models
}
