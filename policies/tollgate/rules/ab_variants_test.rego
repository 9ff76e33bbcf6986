package tollgate.rules.ab_variants_test

import data.tollgate
import data.tollgate.fixtures

ab_input(team, variant_name) := object.union(
	fixtures.input_for(team, "assistant", [fixtures.openai_us], fixtures.no_pii),
	{"variant": {"name": variant_name, "model": "small-model"}},
)

forbidding_data := {"orgs": {"acme": {"teams": {"legal": {"forbidden_variants": {"assistant": ["cheaper"]}}}}}, "defaults": {}}

test_a_forbidden_variant_is_denied if {
	d := tollgate.decision with input as ab_input("legal", "cheaper") with data.tenants as forbidding_data
	d.allow == false
	d.reasons == ["team legal may not use variant cheaper of assistant"]
}

test_other_variants_and_teams_pass if {
	d := tollgate.decision with input as ab_input("legal", "control") with data.tenants as forbidding_data
	d.allow == true
	d2 := tollgate.decision with input as ab_input("platform", "cheaper") with data.tenants as forbidding_data
	d2.allow == true
}

test_requests_without_a_variant_pass if {
	d := tollgate.decision with input as fixtures.input_for("legal", "assistant", [fixtures.openai_us], fixtures.no_pii) with data.tenants as forbidding_data
	d.allow == true
}

pinning_data := {"orgs": {"acme": {"teams": {"legal": {"pinned_variants": {"assistant": "control"}, "forbidden_variants": {"assistant": ["cheaper"]}}}}}, "defaults": {}}

test_a_pinned_team_is_routed_to_its_variant_whatever_the_hash if {
	d := tollgate.decision with input as ab_input("legal", "cheaper") with data.tenants as pinning_data
	d.allow == true
	d.route_variant == "control"
}

test_no_pick_for_other_teams_or_requests_without_a_variant if {
	d := tollgate.decision with input as ab_input("platform", "cheaper") with data.tenants as pinning_data
	d.route_variant == null
	d2 := tollgate.decision with input as fixtures.input_for("legal", "assistant", [fixtures.openai_us], fixtures.no_pii) with data.tenants as pinning_data
	d2.route_variant == null
}
