"""Operation names as metric labels: a bounded set, since clients choose the names."""

ANONYMOUS = "anonymous"
UNKNOWN = "unknown"
OTHER = "other"


class OperationNames:
    """The first `limit` distinct names keep their own label; every later one is `other`."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._known: set[str] = set()

    def label(self, name: str | None, operation_type: str | None) -> str:
        if name is None:
            return UNKNOWN if operation_type is None else ANONYMOUS
        if name in self._known:
            return name
        if len(self._known) >= self.limit:
            return OTHER
        self._known.add(name)
        return name
