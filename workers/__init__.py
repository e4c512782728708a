"""workers package of AIQLeads (imported as aiqleads.workers)."""
