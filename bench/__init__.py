"""Benchmarks that print figures (``python -m bench.<name>``); they never fail on timing."""
