# Realistic inputs shared by the tests (a *_test.rego file, so it never enters the bundle).
package tollgate.fixtures

anthropic_us := {"provider": "anthropic-us", "vendor": "anthropic", "region": "us", "model": "claude-sonnet-4-5"}

openai_us := {"provider": "openai-us", "vendor": "openai", "region": "us", "model": "gpt-4o"}

azure_eu := {"provider": "azure-eu", "vendor": "azure", "region": "eu", "model": "gpt-4o"}

azure_us := {"provider": "azure-us", "vendor": "azure", "region": "us", "model": "gpt-4o"}

# Monday 2025-01-06 03:00 UTC = 10:00 in Hanoi (UTC+7).
monday_10_hanoi := 1736132400000

no_pii := {"total": 0, "types": {}}

one_email := {"total": 1, "types": {"email": 1}}

input_for(team, model, candidates, pii) := {
	"endpoint": "chat",
	"stream": false,
	"tenant": {"org": "acme", "team": team, "app": "assistant", "user": "u-42", "feature": null},
	"model": model,
	"variant": null,
	"candidates": candidates,
	"routing": {"strategy": null, "models": []},
	"tokens": {"prompt_estimate": 120, "max_tokens": null},
	"pii": pii,
	"guardrails": {},
	"time": {"unix_ms": monday_10_hanoi, "iso": "2025-01-06T03:00:00.000Z"},
}
