package tollgate.rules.business_hours_test

import data.tollgate
import data.tollgate.fixtures

at(unix_ms) := object.union(
	fixtures.input_for("support", "gpt-4o", [fixtures.openai_us], fixtures.no_pii),
	{"time": {"unix_ms": unix_ms, "iso": "irrelevant"}},
)

closed_reason := "team support may call models only during business hours (mon,tue,wed,thu,fri 08:00-18:00 hanoi_office)"

test_open_on_monday_morning_in_hanoi if {
	d := tollgate.decision with input as at(fixtures.monday_10_hanoi)
	d.allow == true
}

test_opens_at_eight_local if {
	# Monday 00:59 UTC is 07:59 in Hanoi; 01:00 UTC is 08:00.
	before := tollgate.decision with input as at(1736125140000)
	before.reasons == [closed_reason]
	opening := tollgate.decision with input as at(1736125200000)
	opening.allow == true
}

test_closes_at_eighteen_local if {
	last_second := tollgate.decision with input as at(1736161199000)
	last_second.allow == true
	closing := tollgate.decision with input as at(1736161200000)
	closing.reasons == [closed_reason]
}

test_closed_on_saturday if {
	d := tollgate.decision with input as at(1736564400000)
	d.allow == false
}

test_other_teams_work_at_night if {
	night := object.union(
		fixtures.input_for("platform", "gpt-4o", [fixtures.openai_us], fixtures.no_pii),
		{"time": {"unix_ms": 1736564400000, "iso": "x"}},
	)
	d := tollgate.decision with input as night
	d.allow == true
}
