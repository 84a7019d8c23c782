"""Before a usage event reaches the ledger: the project it names (a call made with an API key names none) must be
its workspace's."""

from __future__ import annotations

from typing import Any

from agentworks_events import UsageRecorded, UsageRunSettled
from agentworks_pubsub.ownership import Ownership


class UsageOwnership:
    """The pull consumer's check of each usage event; core answers (cached: a project never changes
    workspace). Which workspace a run belongs to is the ledger's own business (``ledger.service.apply``)."""

    def __init__(self, owners: Ownership) -> None:
        self.owners = owners

    async def __call__(self, event: Any) -> None:
        if isinstance(event, UsageRecorded | UsageRunSettled) and event.project_id is not None:
            await self.owners.require("project", event.project_id, event.workspace_id)
