package tollgate.rules.data_residency_test

import data.tollgate
import data.tollgate.fixtures

test_finance_keeps_only_azure_in_the_eu if {
	candidates := [fixtures.openai_us, fixtures.azure_us, fixtures.azure_eu, fixtures.anthropic_us]
	d := tollgate.decision with input as fixtures.input_for("finance", "gpt-4o", candidates, fixtures.no_pii)
	d.allow == true

	# azure-us stays a candidate by vendor, the region requirement removes it in the gateway.
	d.allowed_providers == ["azure-us", "azure-eu"]
	d.required_region == "eu"
	d.reasons == ["team finance must stay in region eu", "team finance must use azure"]
}

test_finance_without_azure_has_no_provider_left if {
	d := tollgate.decision with input as fixtures.input_for("finance", "gpt-4o", [fixtures.openai_us], fixtures.no_pii)
	d.allowed_providers == []
	d.required_region == "eu"
}

test_other_teams_have_no_region_requirement if {
	d := tollgate.decision with input as fixtures.input_for("hr", "gpt-4o", [fixtures.openai_us], fixtures.no_pii)
	d.required_region == null
	d.allowed_providers == ["openai-us"]
}
