"""Recommendations: lead embeddings, buyer profiles, similar and recommended leads."""
