# "Finance must use Azure OpenAI in the EU": a team may require one vendor and one region (data.json:
# required_vendor, required_region). Other candidates are removed; a provider without a declared region never
# satisfies a region requirement.
package tollgate.rules.data_residency

import data.tollgate.lib

exclude contains {"provider": candidate.provider, "reason": reason} if {
	vendor := lib.team.required_vendor
	some candidate in input.candidates
	candidate.vendor != vendor
	reason := concat("", ["team ", input.tenant.team, " must use ", vendor])
}

require_region contains {"region": region, "reason": reason} if {
	region := lib.team.required_region
	reason := concat("", ["team ", input.tenant.team, " must stay in region ", region])
}
