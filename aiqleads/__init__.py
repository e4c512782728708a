"""AIQLeads: GraphQL API for a real-estate lead marketplace."""
