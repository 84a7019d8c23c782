"""The base of every internal answer."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Answer(BaseModel):
    """What a service answers another: the published schema requires every field, even those with defaults, and
    a caller parsing it ignores fields it does not know yet (a serving service may add one before its callers)."""

    model_config = ConfigDict(from_attributes=True, json_schema_serialization_defaults_required=True)
