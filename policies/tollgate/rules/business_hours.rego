# Business hours: a team bound to a schedule (data.json: business_hours → tenants.business_hours.<name>) may
# call models only on the listed days, from start (inclusive) to end (exclusive), at the schedule's UTC offset.
package tollgate.rules.business_hours

import data.tollgate.lib

deny contains reason if {
	schedule_name := lib.team.business_hours
	schedule := data.tenants.business_hours[schedule_name]
	not open_now(schedule)
	reason := concat("", [
		"team ", input.tenant.team, " may call models only during business hours (",
		concat(",", schedule.days), " ", schedule.start, "-", schedule.end, " ", schedule_name, ")",
	])
}

# A schedule that names no hours at all is treated as always closed: fail closed on a typo in data.json.
deny contains reason if {
	schedule_name := lib.team.business_hours
	not data.tenants.business_hours[schedule_name]
	reason := concat("", ["team ", input.tenant.team, " has an unknown business-hours schedule ", schedule_name])
}

open_now(schedule) if {
	lib.weekday(schedule.utc_offset_minutes) in schedule.days
	minute := lib.minute_of_day(schedule.utc_offset_minutes)
	minute >= lib.minute_of(schedule.start)
	minute < lib.minute_of(schedule.end)
}
