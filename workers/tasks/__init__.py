"""Task bodies: async functions of (runtime, args), run by Celery or in-process alike."""
