package tollgate.rules.request_limits_test

import data.tollgate
import data.tollgate.fixtures

test_support_redacts_contact_data_it_found if {
	pii := {"total": 3, "types": {"email": 1, "phone": 1, "iban": 1}}
	d := tollgate.decision with input as fixtures.input_for("support", "gpt-4o", [fixtures.openai_us], pii)
	d.redact == ["email", "phone"]
}

test_nothing_to_redact_without_findings if {
	d := tollgate.decision with input as fixtures.input_for("support", "gpt-4o", [fixtures.openai_us], fixtures.no_pii)
	d.redact == []
	d.cache == "allow"
}

test_pii_forbids_caching if {
	d := tollgate.decision with input as fixtures.input_for("platform", "gpt-4o", [fixtures.openai_us], fixtures.one_email)
	d.cache == "forbid"
}

test_redaction_is_reversible_only_where_the_team_asks if {
	pii := {"total": 1, "types": {"email": 1}}
	d := tollgate.decision with input as fixtures.input_for("support", "gpt-4o", [fixtures.openai_us], pii)
	d.redact_mode == "mask"
	r := tollgate.decision with input as fixtures.input_for("support", "gpt-4o", [fixtures.openai_us], pii)
		with data.tenants.orgs.acme.teams.support as {"redact": ["email"], "redact_mode": "reversible"}
	r.redact == ["email"]
	r.redact_mode == "reversible"
}
