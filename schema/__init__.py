"""schema package of AIQLeads (imported as aiqleads.schema)."""
