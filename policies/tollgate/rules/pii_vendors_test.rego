package tollgate.rules.pii_vendors_test

import data.tollgate
import data.tollgate.fixtures

candidates := [fixtures.anthropic_us, fixtures.openai_us]

test_hr_with_pii_never_reaches_anthropic if {
	d := tollgate.decision with input as fixtures.input_for("hr", "claude-or-gpt", candidates, fixtures.one_email)
	d.allow == true
	d.allowed_providers == ["openai-us"]
	d.reasons == ["team hr may not send personal data (email) to anthropic"]
}

test_hr_without_pii_may_use_anthropic if {
	d := tollgate.decision with input as fixtures.input_for("hr", "claude-or-gpt", candidates, fixtures.no_pii)
	d.allowed_providers == ["anthropic-us", "openai-us"]
	d.reasons == []
}

test_hr_with_pii_and_only_anthropic_has_nothing_left if {
	pii := {"total": 3, "types": {"phone": 2, "national_id": 1}}
	d := tollgate.decision with input as fixtures.input_for("hr", "claude-sonnet", [fixtures.anthropic_us], pii)
	d.allowed_providers == []
	d.reasons == ["team hr may not send personal data (national_id, phone) to anthropic"]
	d.redact == ["national_id"]
}

test_other_teams_may_send_pii_to_anthropic if {
	d := tollgate.decision with input as fixtures.input_for("platform", "claude-sonnet", candidates, fixtures.one_email)
	d.allowed_providers == ["anthropic-us", "openai-us"]
}
