package tollgate.rules.external_guardrails_test

import data.tollgate
import data.tollgate.fixtures

with_guardrails(team, guardrails) := object.union(fixtures.input_for(team, "gpt-4o", [fixtures.openai_us], fixtures.no_pii), {"guardrails": guardrails})

unsafe := {"llama-guard": {"type": "llama_guard", "status": "flagged", "findings": {"S1": {"count": 1, "score": 1}, "S10": {"count": 1, "score": 1}}}}

hate_2 := {"content-safety": {"type": "azure_content_safety", "status": "pass", "findings": {"Hate": {"count": 1, "score": 2}}}}

test_a_flagged_request_is_denied_with_its_categories if {
	d := tollgate.decision with input as with_guardrails("platform", unsafe)
	d.allow == false
	d.reasons == ["guardrail llama-guard flagged the request (S1, S10)"]
}

test_a_passing_or_failed_open_guardrail_allows if {
	verdicts := {
		"llama-guard": {"type": "llama_guard", "status": "pass", "findings": {}},
		"content-safety": {"type": "azure_content_safety", "status": "error", "findings": {}},
	}
	d := tollgate.decision with input as with_guardrails("platform", verdicts)
	d.allow == true
	d.cache == "allow"
}

test_flag_only_records_and_forbids_the_cache if {
	data_with := {"orgs": {"acme": {"teams": {"support": {"guardrails_flag_only": ["llama-guard"]}}}}}
	d := tollgate.decision with input as with_guardrails("support", unsafe) with data.tenants as object.union(data.tenants, data_with)
	d.allow == true
	d.cache == "forbid"
}

test_a_team_threshold_is_stricter_than_the_service if {
	data_with := {"orgs": {"acme": {"teams": {"support": {"guardrail_thresholds": {"Hate": 2}}}}}}
	d := tollgate.decision with input as with_guardrails("support", hate_2) with data.tenants as object.union(data.tenants, data_with)
	d.allow == false
	d.reasons == ["guardrail content-safety: Hate at or above the team's threshold"]
	allowed := tollgate.decision with input as with_guardrails("platform", hate_2)
	allowed.allow == true
}

test_presidio_findings_redact_like_built_in_ones if {
	pii := {"total": 2, "types": {"person_name": 1, "email": 1}}
	presidio := {"presidio": {"type": "presidio", "status": "pass", "findings": {"person_name": {"count": 1, "score": 0.85}}}}
	data_with := {"orgs": {"acme": {"teams": {"support": {"redact": ["person_name", "email"]}}}}}
	d := tollgate.decision with input as object.union(fixtures.input_for("support", "gpt-4o", [fixtures.openai_us], pii), {"guardrails": presidio}) with data.tenants as object.union(data.tenants, data_with)
	d.allow == true
	d.redact == ["email", "person_name"]
}

injection(status, score) := {"injection-check": {"type": "prompt_injection", "status": status, "findings": {"injection": {"count": 1, "score": score}}}}

test_an_injection_over_the_model_threshold_is_denied if {
	d := tollgate.decision with input as with_guardrails("platform", injection("flagged", 0.91))
	d.allow == false
	d.reasons == ["guardrail injection-check flagged the request (injection)"]
}

test_a_low_injection_score_passes_unless_the_team_is_stricter if {
	allowed := tollgate.decision with input as with_guardrails("platform", injection("pass", 0.3))
	allowed.allow == true
	data_with := {"orgs": {"acme": {"teams": {"support": {"guardrail_thresholds": {"injection": 0.25}}}}}}
	d := tollgate.decision with input as with_guardrails("support", injection("pass", 0.3)) with data.tenants as object.union(data.tenants, data_with)
	d.allow == false
	d.reasons == ["guardrail injection-check: injection at or above the team's threshold"]
}

test_an_injection_flag_can_be_only_recorded if {
	data_with := {"orgs": {"acme": {"teams": {"support": {"guardrails_flag_only": ["injection-check"]}}}}}
	d := tollgate.decision with input as with_guardrails("support", injection("flagged", 0.91)) with data.tenants as object.union(data.tenants, data_with)
	d.allow == true
	d.cache == "forbid"
}

test_a_denied_topic_and_an_off_topic_request_are_denied if {
	denied := {"topics": {"type": "topics", "status": "flagged", "findings": {"medical_advice": {"count": 1, "score": 0.71}}}}
	d := tollgate.decision with input as with_guardrails("platform", denied)
	d.allow == false
	d.reasons == ["guardrail topics flagged the request (medical_advice)"]
	off := {"topics": {"type": "topics", "status": "flagged", "findings": {"off_topic": {"count": 1, "score": 0.83}}}}
	o := tollgate.decision with input as with_guardrails("platform", off)
	o.reasons == ["guardrail topics flagged the request (off_topic)"]
}
