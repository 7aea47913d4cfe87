"""Celery workers (built in a later issue)."""
