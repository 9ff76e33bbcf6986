package tollgate.rules.model_allowlist_test

import data.tollgate
import data.tollgate.fixtures

test_research_may_use_listed_models if {
	d := tollgate.decision with input as fixtures.input_for("research", "gpt-4o-mini", [fixtures.openai_us], fixtures.no_pii)
	d.allow == true
	d.max_tokens == 4096
}

test_research_may_not_use_other_models if {
	d := tollgate.decision with input as fixtures.input_for("research", "gpt-4o", [fixtures.openai_us], fixtures.no_pii)
	d.allow == false
	d.reasons == ["team research may not use model gpt-4o"]
}

test_teams_without_a_list_are_not_limited if {
	d := tollgate.decision with input as fixtures.input_for("platform", "anything", [fixtures.openai_us], fixtures.no_pii)
	d.allow == true
}
