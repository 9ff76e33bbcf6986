package tollgate_test

import data.tollgate
import data.tollgate.fixtures

all_candidates := [fixtures.anthropic_us, fixtures.openai_us, fixtures.azure_eu]

test_a_team_without_rules_gets_everything if {
	d := tollgate.decision with input as fixtures.input_for("platform", "gpt-4o", all_candidates, fixtures.no_pii)
	d == {
		"allow": true,
		"reasons": [],
		"allowed_providers": ["anthropic-us", "openai-us", "azure-eu"],
		"required_region": null,
		"redact": [],
		"redact_mode": "mask",
		"max_tokens": null,
		"cache": "allow",
		"forbid_strategies": [],
		"route_model": null,
		"route_variant": null,
	}
}

test_denial_lists_every_reason_sorted if {
	inp := object.union(
		fixtures.input_for("research", "gpt-4o", all_candidates, fixtures.no_pii),
		{"time": {"unix_ms": fixtures.monday_10_hanoi, "iso": "x"}},
	)
	d := tollgate.decision with input as inp
		with data.tenants.orgs.acme.teams.research as {"models": ["gpt-4o-mini"], "business_hours": "nowhere"}
	d.allow == false
	d.reasons == [
		"team research has an unknown business-hours schedule nowhere",
		"team research may not use model gpt-4o",
	]
}

test_conflicting_regions_deny if {
	d := tollgate.decision with input as fixtures.input_for("finance", "gpt-4o", all_candidates, fixtures.no_pii)
		with data.tollgate.rules.extra.require_region as {{"region": "us", "reason": "us only"}}
	d.allow == false
	d.reasons == ["conflicting region requirements: eu, us"]
}

test_secrets_are_always_redacted_and_unknown_types_ignored if {
	pii := {"total": 2, "types": {"secret": 1, "email": 1}}
	d := tollgate.decision with input as fixtures.input_for("platform", "gpt-4o", all_candidates, pii)
		with data.tollgate.rules.extra.redact as {"password", "email"}
	d.redact == ["email", "secret"]
	d.cache == "forbid"
}

test_smallest_token_cap_wins if {
	d := tollgate.decision with input as fixtures.input_for("research", "gpt-4o-mini", all_candidates, fixtures.no_pii)
		with data.tollgate.rules.extra.token_cap as {512}
	d.max_tokens == 512
}
