"""domain package of AIQLeads (imported as aiqleads.domain)."""
