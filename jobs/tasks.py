"""The background tasks `jobs` runs itself."""

from .services import background
from .services import tasks_prune as _tasks_prune


@background(attempts=3)
def tasks_prune() -> dict[str, int]:
    """Periodic: forget old finished tasks and marks (PAN_TASK_RESULTS_KEEP)."""
    return _tasks_prune()
