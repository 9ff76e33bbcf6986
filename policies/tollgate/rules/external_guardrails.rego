# Verdicts of the external guardrails (Llama Guard, Azure AI Content Safety, Presidio, the prompt-injection classifier,
# topic allow/deny lists), as categories, counts and scores: never text. By default a guardrail that flagged the request denies it; a team can
#   - only record a guardrail's flags (data.json: guardrails_flag_only, guardrail names): the request goes on, its
#     answer is never cached, the audit log keeps the verdict;
#   - be stricter than the service's own threshold (guardrail_thresholds: category → score), e.g. Azure Hate at
#     severity 2, Llama Guard S7 (privacy) for any score, the injection classifier's score from 0.2 (injection: 0.2)
#     or a deny topic's similarity from 0.4.
# A guardrail that failed and let the request through (status error, on_error: open) is recorded, never denied here.
package tollgate.rules.external_guardrails

import data.tollgate.lib

flag_only contains name if some name in object.get(lib.team, "guardrails_flag_only", object.get(lib.defaults, "guardrails_flag_only", []))

thresholds := object.get(lib.team, "guardrail_thresholds", object.get(lib.defaults, "guardrail_thresholds", {}))

flagged contains name if {
	some name, verdict in input.guardrails
	verdict.status == "flagged"
}

categories(name) := concat(", ", sort([category | some category, _ in input.guardrails[name].findings]))

deny contains reason if {
	some name in flagged
	not flag_only[name]
	reason := concat("", ["guardrail ", name, " flagged the request (", categories(name), ")"])
}

deny contains reason if {
	some name, verdict in input.guardrails
	not flag_only[name]
	some category, finding in verdict.findings
	finding.score >= thresholds[category]
	reason := concat("", ["guardrail ", name, ": ", category, " at or above the team's threshold"])
}

forbid_cache contains reason if {
	some name in flagged
	reason := concat("", ["guardrail ", name, " flagged the request"])
}
