"""Every test fleet keeps its state under its own temporary directory: a fleet that moves a card through the
lanes writes databases, blobs, repositories and working copies, and none of it may land in the repository's
``.dev`` (``make dev``'s state) or be shared with another test."""

from __future__ import annotations

from pathlib import Path

import pytest
from agentworks_localstack.fleet import FLEET, ServiceSpec, free_port_offset

from .fleet_support import fleet_settings, paths_outside, settings_class_of


@pytest.mark.parametrize("spec", FLEET, ids=lambda spec: spec.name)
def test_an_in_process_fleets_services_keep_their_state_in_its_directory(spec: ServiceSpec, tmp_path: Path) -> None:
    settings = fleet_settings(
        settings_class_of(spec),
        tmp_path / "service",
        environment="test",
        dev_signing_key_file=tmp_path / "service-signing-key.pem",
        database_url=f"sqlite+aiosqlite:///{tmp_path}/service.db",
    )
    assert paths_outside(settings, tmp_path) == {}


@pytest.mark.parametrize("spec", FLEET, ids=lambda spec: spec.name)
def test_a_process_fleets_services_keep_their_state_in_its_data_directory(
    spec: ServiceSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    for name, value in spec.env(free_port_offset(), data_dir, {}).items():
        monkeypatch.setenv(name, value)
    settings = settings_class_of(spec)()
    assert paths_outside(settings, data_dir) == {}
