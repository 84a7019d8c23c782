"""Identity shapes."""

from __future__ import annotations

import uuid
from typing import Annotated

from agentworks_events import UtcDateTime
from agentworks_platform.input_rules import EmailAddress
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Password = Annotated[str, Field(min_length=10, max_length=128)]


class SignUp(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: EmailAddress
    password: Password
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] = ""


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Annotated[str, Field(min_length=3, max_length=254)]
    password: Annotated[str, Field(min_length=1, max_length=128)]


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    email: str
    name: str
    created_at: UtcDateTime


class SessionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    created_at: UtcDateTime
    expires_at: UtcDateTime
    user_agent: str
    client_ip: str
    current: bool = False
