"""Celery workers: the review queue (CPU) and the model queue (GPU when present)."""
