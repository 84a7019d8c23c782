"""What people send to the run endpoints and what those answer."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class CancelOut(BaseModel):
    run_id: uuid.UUID
    status: str


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: Annotated[str, Field(min_length=1, max_length=4000)]
