"""What an operation may cost and how long it may run: built from settings, read by the executor."""

from dataclasses import dataclass

from graph.execution.budget import Allowance
from graph.viewer import Viewer


@dataclass(frozen=True, slots=True)
class Policy:
    """What an operation may cost and how long it may run."""

    max_cost: int = 10_000
    timeout_seconds: float = 10.0
    # None: not budgeted.
    anonymous: Allowance | None = None
    staff: Allowance | None = None

    def allowance(self, viewer: Viewer) -> Allowance | None:
        return self.staff if viewer.is_staff else self.anonymous
