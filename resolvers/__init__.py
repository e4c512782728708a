"""resolvers package of AIQLeads (imported as aiqleads.resolvers)."""
