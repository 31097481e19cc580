"""Recommendations: filters, the Recommender's Qdrant queries, and re-ranking (MMR, artist caps, soft targets)."""
