"""Task failures: Transient ones are retried with backoff; anything else fails the job at once."""


class TransientError(Exception):
    """Worth retrying: a timeout, a refused connection, a 5xx from a webhook receiver."""


class PermanentError(Exception):
    """Retrying cannot help: the job's input no longer makes sense."""
