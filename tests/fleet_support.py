"""A test fleet's settings: every directory a service keeps state in lives under the fleet's own temporary
directory, never under the repository's ``.dev`` (where ``make dev`` keeps its state)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from agentworks_localstack.fleet import ServiceSpec
from agentworks_platform.settings import ServiceSettings

DEV_STATE = Path(".dev")
READ_ONLY_INPUTS = frozenset({"web_dist", "openapi_dir"})
"""Path settings a service only reads (the built web app, the published API descriptions): sources, not state."""


def settings_class_of(spec: ServiceSpec) -> type[ServiceSettings]:
    config: Any = importlib.import_module(f"{spec.package}.config")
    found: type[ServiceSettings] = next(
        v for k, v in vars(config).items() if k.endswith("Settings") and k != "ServiceSettings" and isinstance(v, type)
    )
    return found


def state_dirs(settings_class: type[ServiceSettings], root: Path) -> dict[str, Path]:
    """Each setting whose default keeps state under ``.dev``, moved under ``root`` (one directory per setting)."""
    return {
        name: root / name.removesuffix("_dir")
        for name, field in settings_class.model_fields.items()
        if isinstance(field.default, Path) and field.default.parts[:1] == DEV_STATE.parts
    }


def fleet_settings(settings_class: type[ServiceSettings], root: Path, **values: Any) -> Any:
    """``settings_class`` with ``values``, its state under ``root`` unless ``values`` name a directory."""
    return settings_class(**{**state_dirs(settings_class, root), **values})


def paths_outside(settings: ServiceSettings, root: Path) -> dict[str, Path]:
    """The settings' state paths (a field or a derived ``*_dir`` property) that are not under ``root``."""
    names = [*type(settings).model_fields, *(n for n in dir(type(settings)) if n.endswith("_dir"))]
    found = {name: getattr(settings, name) for name in dict.fromkeys(names) if name not in READ_ONLY_INPUTS}
    return {
        name: value
        for name, value in found.items()
        if isinstance(value, Path) and not value.resolve().is_relative_to(root.resolve())
    }
