"""Helpers of the deployment checks: the repository's Terraform, read by python-hcl2 and evaluated by terraform."""

from __future__ import annotations

import functools
import importlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import hcl2
from agentworks_platform import serve
from agentworks_platform.app import admitted_callers, served_routes
from agentworks_platform.settings import ServiceSettings
from fastapi import FastAPI

ROOT = Path(__file__).resolve().parents[1]
TERRAFORM = ROOT / "terraform"
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "pyproject.toml").exists())


def terraform_files() -> list[Path]:
    return sorted([*TERRAFORM.rglob("*.tf"), *TERRAFORM.rglob("*.tfvars")])


def parse(path: Path) -> dict[str, Any]:
    """The file as plain data: block labels and string literals unquoted, parser markers dropped."""
    with path.open() as handle:
        parsed: dict[str, Any] = plain(hcl2.load(handle))
    return parsed


def plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items() if k not in {"__is_block__", "__comments__"}}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"')
    return value


def settings_class(service: str) -> type[ServiceSettings]:
    return serve.settings_class(serve.package_of(service))


def service_app(service: str, settings: ServiceSettings | None = None) -> FastAPI:
    """The service's app as its entry point builds it (not started: building it opens nothing)."""
    app: FastAPI = importlib.import_module(f"{serve.package_of(service)}.app").create_app(settings)
    return app


@functools.cache
def trusted_callers(service: str) -> list[str]:
    """Every caller a service's routes admit (the union of their ``allow_callers``), sorted."""
    admitted = (admitted_callers(route) for route in served_routes(service_app(service)))
    return sorted(set().union(*(callers for callers in admitted if callers)))


def peers(service: str) -> set[str]:
    """Services whose URL a service's settings hold (``core_url`` → ``core``)."""
    fields = settings_class(service).model_fields
    return {name.removesuffix("_url").replace("_", "-") for name in fields if name.endswith("_url")} & set(SERVICES)


def secrets_read_by_code() -> dict[str, set[str]]:
    """Secret id → services that read it through the secrets port, from the services' own constants."""
    from agentworks_billing.config import STRIPE_API_KEY_NAME, STRIPE_WEBHOOK_SIGNING_NAME
    from agentworks_provider_router.providers.registry import SECRET_NAMES

    readers: dict[str, set[str]] = {name: {"provider-router"} for name in SECRET_NAMES.values()}
    for name in (STRIPE_API_KEY_NAME, STRIPE_WEBHOOK_SIGNING_NAME):
        readers.setdefault(name, set()).add("billing")
    return readers


def terraform_binary() -> str | None:
    return shutil.which("terraform")


def evaluate_catalog(workdir: Path, binary: str, variables: str = "database_max_connections = 800") -> dict[str, Any]:
    """Evaluate terraform/modules/catalog (no providers, so offline) for a sample production project; ``variables``
    adds HCL assignments (the database's connection limit, scaling)."""
    (workdir / "main.tf").write_text(
        f"""
module "catalog" {{
  source             = "{TERRAFORM / "modules" / "catalog"}"
  environment        = "prod"
  project_id         = "acme-agentworks"
  project_number     = "123456789012"
  region             = "europe-west1"
  topology_file      = "{ROOT / "contracts" / "topology.yaml"}"
  image_repository   = "europe-west1-docker.pkg.dev/acme-agentworks/agentworks"
  image_tag          = "0123abc"
  logs_bucket        = "agentworks-logs-prod"
  images_bucket      = "agentworks-images-prod"
  sandbox_bucket     = "agentworks-sandbox-prod"
  attachments_bucket = "agentworks-attachments-prod"
  firestore_database = "(default)"
  {variables}
}}
"""
    )
    config = workdir / "terraformrc"
    config.write_text("")
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(config), "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
    subprocess.run(
        [binary, "init", "-input=false", "-backend=false", "-no-color"],
        cwd=workdir,
        env=env,
        capture_output=True,
        check=True,
        timeout=120,
    )
    shown = subprocess.run(
        [binary, "console", "-no-color"],
        input="jsonencode(module.catalog)\n",
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    try:
        value: dict[str, Any] = json.loads(json.loads(shown.stdout.strip()))
    except json.JSONDecodeError:  # an error (a failed precondition) leaves the value unknown; console still exits 0
        raise RuntimeError(f"the catalog did not evaluate:\n{shown.stderr}{shown.stdout}") from None
    return value
