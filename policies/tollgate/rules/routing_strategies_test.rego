package tollgate.rules.routing_strategies_test

import data.tollgate
import data.tollgate.fixtures

routed_input(team) := object.union(
	fixtures.input_for(team, "cheapest", [fixtures.openai_us, fixtures.azure_eu], fixtures.no_pii),
	{"routing": {"strategy": "cost", "models": ["small", "large"]}},
)

routing_data := {"orgs": {"acme": {"teams": {
	"legal": {"forbid_strategies": ["cost", "latency"], "route_models": {"cheapest": "large"}},
	"ops": {"route_models": {"cheapest": "not-a-member"}},
}}}, "defaults": {}}

test_a_team_may_forbid_strategies_and_pick_the_member if {
	d := tollgate.decision with input as routed_input("legal") with data.tenants as routing_data
	d.allow == true
	d.forbid_strategies == ["cost", "latency"]
	d.route_model == "large"
	d.allowed_providers == ["openai-us", "azure-eu"]
}

test_a_pick_outside_the_members_is_ignored if {
	d := tollgate.decision with input as routed_input("ops") with data.tenants as routing_data
	d.route_model == null
	d.forbid_strategies == []
}

test_other_teams_keep_the_strategy if {
	d := tollgate.decision with input as routed_input("platform") with data.tenants as routing_data
	d.allow == true
	d.forbid_strategies == []
	d.route_model == null
}
