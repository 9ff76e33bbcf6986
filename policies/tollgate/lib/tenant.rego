# Helpers shared by the rules: the requesting team's entry in data.json and the request's local time.
package tollgate.lib

# The team's settings from data.json; an empty object for a team with none, so rules can use object.get.
default team := {}

team := object.get(data.tenants.orgs, [input.tenant.org, "teams", input.tenant.team], {})

default defaults := {}

defaults := data.tenants.defaults

# PII types the detector found in this request (never the values, only types and counts).
pii_types contains type if {
	some type, count_of_type in input.pii.types
	count_of_type > 0
}

has_pii if input.pii.total > 0

# "08:30" → 510
minute_of(hhmm) := (to_number(parts[0]) * 60) + to_number(parts[1]) if parts := split(hhmm, ":")

# Local weekday and minute of the day at a fixed UTC offset (no DST: state the offset you mean).
local_seconds(offset_minutes) := floor(input.time.unix_ms / 1000) + (offset_minutes * 60)

weekday(offset_minutes) := ["sun", "mon", "tue", "wed", "thu", "fri", "sat"][(floor(local_seconds(offset_minutes) / 86400) + 4) % 7]

minute_of_day(offset_minutes) := floor((local_seconds(offset_minutes) % 86400) / 60)
