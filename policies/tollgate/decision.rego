# The one entrypoint Tollgate evaluates: tollgate/decision. It gathers what every rule package under
# tollgate.rules contributes and shapes it into the decision documented in decision.schema.json.
#
# A rule package may define any of these sets (see rules/ for examples):
#   deny            reason strings; any reason denies the request (403 policy_denied with the reasons)
#   exclude         {"provider": name, "reason": text}: this candidate provider may not serve the request
#   require_region  {"region": name, "reason": text}: only providers declared in that region may serve
#   redact          PII types to mask in the request before any provider sees it
#   reversible_redaction  reason strings; any makes the masks numbered placeholders the gateway puts back in the
#                   answer (the provider never sees the values, the caller gets them back)
#   token_cap       numbers; the smallest caps the request's max_tokens
#   forbid_cache    reason strings; any reason forbids caching this request's answer
#   forbid_strategy routing strategies (cost, semantic, latency) this request may not use
#   route_model     member models of a virtual model (input.routing.models) to serve instead of its strategy's
#                   choice; two different picks deny the request
#   route_variant   the variant of an A/B-tested alias (input.variant) to serve instead of the caller's hashed
#                   assignment; two different picks deny the request
package tollgate

import data.tollgate.rules

deny contains reason if some reason in rules[_].deny

exclusions contains exclusion if some exclusion in rules[_].exclude

excluded_providers contains exclusion.provider if some exclusion in exclusions

region_requirements contains requirement if some requirement in rules[_].require_region

required_regions contains requirement.region if some requirement in region_requirements

deny contains reason if {
	count(required_regions) > 1
	reason := concat("", ["conflicting region requirements: ", concat(", ", sort(required_regions))])
}

known_pii_types := {"email", "phone", "credit_card", "iban", "national_id", "secret", "ip_address", "person_name", "address"}

redact_types contains type if {
	some type in rules[_].redact
	known_pii_types[type]
}

token_caps contains cap if some cap in rules[_].token_cap

cache_forbidden contains reason if some reason in rules[_].forbid_cache

# Why providers were narrowed down; shown to the client if nothing is left, and recorded in the audit log.
constraint_reasons contains exclusion.reason if some exclusion in exclusions

constraint_reasons contains requirement.reason if some requirement in region_requirements

default required_region := null

required_region := region if {
	count(required_regions) == 1
	some region in required_regions
}

default max_tokens := null

max_tokens := min(token_caps) if count(token_caps) > 0

default redact_mode := "mask"

redact_mode := "reversible" if count({reason | some reason in rules[_].reversible_redaction}) > 0

default cache := "allow"

cache := "forbid" if count(cache_forbidden) > 0

forbidden_strategies contains strategy if {
	some strategy in rules[_].forbid_strategy
	strategy in {"cost", "semantic", "latency"}
}

route_models contains model if some model in rules[_].route_model

deny contains reason if {
	count(route_models) > 1
	reason := concat("", ["conflicting route_model picks: ", concat(", ", sort(route_models))])
}

default route_model := null

route_model := model if {
	count(route_models) == 1
	some model in route_models
}

route_variants contains variant if some variant in rules[_].route_variant

deny contains reason if {
	count(route_variants) > 1
	reason := concat("", ["conflicting route_variant picks: ", concat(", ", sort(route_variants))])
}

default route_variant := null

route_variant := variant if {
	count(route_variants) == 1
	some variant in route_variants
}

default reasons := []

reasons := sort(deny) if count(deny) > 0

reasons := sort(constraint_reasons) if {
	count(deny) == 0
	count(constraint_reasons) > 0
}

decision := {
	"allow": count(deny) == 0,
	"reasons": reasons,
	"allowed_providers": [candidate.provider |
		some candidate in input.candidates
		not excluded_providers[candidate.provider]
	],
	"required_region": required_region,
	"redact": sort(redact_types),
	"redact_mode": redact_mode,
	"max_tokens": max_tokens,
	"cache": cache,
	"forbid_strategies": sort(forbidden_strategies),
	"route_model": route_model,
	"route_variant": route_variant,
}
