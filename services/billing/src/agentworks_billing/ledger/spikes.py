"""When a workspace's day of spend is next checked for a spike: at most once per workspace and day every
``spike_check_seconds``, since each check sums days of rows. Kept for the service's lifetime."""

from __future__ import annotations

import math
import time
from datetime import date
from uuid import UUID

MAX_TRACKED = 100_000


class SpikeChecks:
    """The moment each (workspace, day) was last checked, on this instance's monotonic clock."""

    def __init__(self, every_seconds: float) -> None:
        self.every_seconds = every_seconds
        self._checked: dict[tuple[UUID, date], float] = {}

    def due(self, workspace_id: UUID, day: date) -> bool:
        """True (and noted as checked now) when the workspace's day was not checked within the interval."""
        key, now = (workspace_id, day), time.monotonic()
        if now - self._checked.get(key, -math.inf) < self.every_seconds:
            return False
        if len(self._checked) > MAX_TRACKED:
            self._checked.clear()
        self._checked[key] = now
        return True
