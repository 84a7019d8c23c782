"""Every service's own models and routes hold no pydantic field metadata that has no effect (an alias or a default
on a type outside a model field): the suite ignores pydantic's warning for that, because FastAPI provokes and
silences it on every parameter in a way that is not thread-safe, so it is checked here in a process of its own,
on one thread, where it is an error."""

from __future__ import annotations

import subprocess
import sys

import pytest

APPS = (
    "agentworks_billing.app",
    "agentworks_core.app",
    "agentworks_gateway.app",
    "agentworks_log_stream.app",
    "agentworks_orchestrator.app",
    "agentworks_provider_router.app",
)


STRICT = (
    "import warnings\n"
    "from pydantic.warnings import UnsupportedFieldAttributeWarning\n"
    "warnings.simplefilter('error', UnsupportedFieldAttributeWarning)\n"
)


def run_strictly(code: str) -> subprocess.CompletedProcess[str]:
    """Runs ``code`` in a fresh interpreter where the warning is an error."""
    return subprocess.run(
        [sys.executable, "-c", STRICT + code], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize("module", APPS)
def test_a_services_models_and_routes_carry_no_field_metadata_that_has_no_effect(module: str) -> None:
    # Importing the app module defines its models and declares its routes, both of which build pydantic schemas.
    imported = run_strictly(f"import {module}")
    assert imported.returncode == 0, imported.stderr[-3000:]


def test_the_check_catches_an_alias_on_one_member_of_a_union() -> None:
    misused = run_strictly(
        "from typing import Annotated\n"
        "from pydantic import BaseModel, Field\n"
        "class Card(BaseModel):\n"
        "    short_id: Annotated[str, Field(alias='key')] | None = None\n"
    )
    assert misused.returncode != 0
    assert "UnsupportedFieldAttributeWarning" in misused.stderr
