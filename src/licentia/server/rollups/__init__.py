"""Daily rollups: the per-day summaries dashboards read instead of raw events."""
