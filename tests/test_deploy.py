"""Deployment: Terraform parses, is formatted and agrees with the code and the topology; the Dockerfile keeps
its rules; checkov finds nothing unjustified; the container entry point serves on $PORT and stops cleanly."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from agentworks_pubsub import load_topology

from .deploy_support import (
    ROOT,
    SERVICES,
    TERRAFORM,
    evaluate_catalog,
    parse,
    peers,
    secrets_read_by_code,
    settings_class,
    terraform_binary,
    terraform_files,
    trusted_callers,
)

CHECKOV = ROOT / ".tools" / "checkov" / "bin" / "checkov"
DOCKERFILE = ROOT / "docker" / "Dockerfile"


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    binary = terraform_binary()
    if binary is None:
        pytest.skip("terraform is not installed; the catalog is checked structurally only")
    return evaluate_catalog(tmp_path_factory.mktemp("catalog"), binary)


def definitions() -> dict[str, Any]:
    (locals_block,) = [b for b in parse(TERRAFORM / "modules" / "catalog" / "main.tf")["locals"] if "definitions" in b]
    result: dict[str, Any] = locals_block["definitions"]
    return result


# --- Terraform files --------------------------------------------------------------------------------------


def test_every_terraform_file_parses_and_is_formatted(tmp_path: Path) -> None:
    files = terraform_files()
    assert len(files) > 20
    for path in files:
        parse(path)  # raises on a syntax error
    binary = terraform_binary()
    if binary is not None:
        env = {**os.environ, "TF_CLI_CONFIG_FILE": str(tmp_path / "rc")}
        (tmp_path / "rc").write_text("")
        result = subprocess.run(
            [binary, "fmt", "-check", "-recursive", "-diff", str(TERRAFORM)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert result.returncode == 0, f"run `terraform fmt -recursive terraform`:\n{result.stdout}"


def test_every_environment_has_backend_config_tfvars_and_applies_the_common_root_module() -> None:
    common = TERRAFORM / "environments" / "common"
    variables = {name: body for v in parse(common / "variables.tf")["variable"] for name, body in v.items()}
    required = {name for name, body in variables.items() if "default" not in body}
    (call,) = parse(common / "main.tf")["module"]
    assert call["agentworks"]["source"] == "../../modules/agentworks"
    assert parse(common / "backend.tf")["terraform"][0]["backend"][0]["gcs"] == {}
    for env in ("dev", "staging", "prod"):
        folder = TERRAFORM / "environments" / env
        for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "backend.tf"):
            assert (folder / name).resolve() == (common / name).resolve(), f"{env}/{name} must link to common/"
        assert f'prefix = "agentworks/{env}"' in (folder / "backend.hcl").read_text()
        tfvars = parse(folder / "terraform.tfvars")
        assert tfvars["environment"] == env
        assert required - {"image_tag"} <= set(tfvars), f"{env}: tfvars lack {required - set(tfvars)}"
        assert set(tfvars) <= set(variables), f"{env}: tfvars set undeclared {set(tfvars) - set(variables)}"
        assert set(tfvars.get("scaling", {})) <= set(SERVICES)


# --- The catalog agrees with the services' code -----------------------------------------------------------


def test_every_service_has_a_definition_an_image_and_a_cloud_build_step() -> None:
    assert sorted(definitions()) == SERVICES
    catalog_locals = parse(TERRAFORM / "modules" / "catalog" / "main.tf")["locals"]
    (names,) = [b["names"] for b in catalog_locals if "names" in b]
    assert sorted(names) == SERVICES
    build = yaml.safe_load((ROOT / "cloudbuild.yaml").read_text())
    steps = {step["id"]: step for step in build["steps"]}
    assert build["substitutions"]["_SERVICES"].split() == names
    for service in SERVICES:
        args = steps[f"build-{service}"]["args"]
        assert f"SERVICE={service}" in args
        assert args[args.index("--target") + 1] == ("gateway" if service == "gateway" else "service")
        assert f"${{_REGISTRY}}/{service}:${{_TAG}}" in args
        assert steps[f"push-{service}"]["waitFor"] == [f"build-{service}"]
        assert f"push-{service}" in steps["migrate"]["waitFor"]
    assert steps["deploy"]["waitFor"] == ["migrate"]


@pytest.mark.parametrize("service", SERVICES)
def test_trust_calls_and_secrets_mirror_the_service_settings(service: str) -> None:
    definition = definitions()[service]
    assert definition["trusts"] == trusted_callers(service), "trusts must list (sorted) the callers its routes admit"
    assert set(definition["calls"]) == peers(service), "calls must equal the peers the settings have URLs of"
    read_by_code = {secret for secret, readers in secrets_read_by_code().items() if service in readers}
    assert set(definition["reads_secrets"]) == read_by_code
    assert definition["public"] is (service == "gateway")
    settings = settings_class(service).model_fields
    for key in definition["settings"]:
        assert key.lower() in settings, f"{service}: {key} is not a setting"


def _without_cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Production settings refuse the suite's cheap password hashing (conftest.py's CHEAP_PASSWORD_HASHES)."""
    for variable in [v for v in os.environ if v.startswith("AW_GATEWAY_PASSWORD_HASH_")]:
        monkeypatch.delenv(variable)


def test_the_catalog_env_builds_each_service_settings_in_production_mode(
    catalog: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _without_cheap_password_hashing(monkeypatch)
    for name, service in catalog["services"].items():
        cls = settings_class(name)
        callers = trusted_callers(name)  # before the production environment is set: building the app reads it
        prefix = service["env_prefix"]
        for key, value in {
            **service["env"],
            service["database_url_env"]: "postgresql+psycopg://u:p@10.0.0.3/db",
        }.items():
            assert key.startswith(prefix)
            assert key.removeprefix(prefix).lower() in cls.model_fields, f"{name}: {key} is not a setting"
            monkeypatch.setenv(key, value)
        settings = cls()
        assert settings.is_production
        assert settings.audience == service["url"]
        assert settings.service_account_email == service["email"]
        assert settings.trusted_callers == {c: catalog["emails"][c] for c in callers}
        assert settings.caller_emails(["gateway", "scheduler", "operator"]) == {
            catalog["emails"][c] for c in ("gateway", "scheduler", "operator") if c in callers
        }
        for peer in peers(name):
            assert getattr(settings, f"{peer.replace('-', '_')}_url") == catalog["services"][peer]["url"]
        for key in service["env"]:
            monkeypatch.delenv(key)


def test_invokers_are_the_trusted_callers_plus_pubsub_for_subscribers(catalog: dict[str, Any]) -> None:
    topology = load_topology()
    emails = catalog["emails"]
    for name, service in catalog["services"].items():
        expected = [emails[c] for c in trusted_callers(name)]
        if topology.push_subscriptions(name):
            expected.append(emails["pubsub-invoker"])
        assert service["invokers"] == expected
        assert service["account_id"] == catalog["service_accounts"][name]
        assert service["image"].endswith(f"/{name}:0123abc")


def test_every_secret_is_provisioned_and_granted_to_exactly_its_readers(catalog: dict[str, Any]) -> None:
    expected = {f"{name}-database-url": [name] for name in SERVICES}
    expected |= {secret: sorted(readers) for secret, readers in secrets_read_by_code().items()}
    assert catalog["secret_accessors"] == expected
    assert catalog["operator_secrets"] == sorted(secrets_read_by_code())
    database = (TERRAFORM / "modules" / "database" / "main.tf").read_text()
    assert 'secret_id = "${each.key}-database-url"' in database
    assert 'member    = "serviceAccount:${var.service_emails[each.key]}"' in database


def test_pubsub_follows_the_topology(catalog: dict[str, Any]) -> None:
    topology = load_topology()
    assert set(catalog["topics"]) == {t.name for t in topology.topics}
    for topic in topology.topics:
        assert catalog["topics"][topic.name] == {"dead_letter": topic.dead_letter, "publishers": list(topic.publishers)}
        assert set(topic.publishers) <= set(SERVICES)
    assert set(catalog["subscriptions"]) == {s.name for s in topology.subscriptions}
    for sub in topology.subscriptions:
        actual = catalog["subscriptions"][sub.name]
        url = catalog["services"][sub.subscriber]["url"] if sub.is_push and sub.subscriber else None
        assert actual == {
            "topic": sub.topic,
            "subscriber": sub.subscriber,
            "push_endpoint": f"{url}{sub.push_path}" if url else None,
            "audience": url,
            "ack_deadline_seconds": sub.ack_deadline_seconds,
            "minimum_backoff": f"{sub.retry.minimum_backoff_seconds:g}s",
            "maximum_backoff": f"{sub.retry.maximum_backoff_seconds:g}s",
            "max_delivery_attempts": sub.max_delivery_attempts,
            "dead_letter_topic": sub.dead_letter_topic,
            "ordering": sub.enable_message_ordering,
            "filter": sub.filter,
            "retention": f"{sub.message_retention_days * 86400}s",
        }, sub.name


# --- The connection budget (docs/decisions/0006) -----------------------------------------------------------


def _environment_catalog(tmp_path: Path, tfvars: dict[str, Any]) -> dict[str, Any]:
    binary = terraform_binary()
    if binary is None:
        pytest.skip("terraform is not installed")
    scaling = ", ".join(f'"{name}" = {{ min = {s["min"]}, max = {s["max"]} }}' for name, s in tfvars["scaling"].items())
    variables = f"database_max_connections = {tfvars['database_max_connections']}\n  scaling = {{ {scaling} }}"
    return evaluate_catalog(tmp_path, binary, variables)


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_every_instance_at_its_ceiling_fits_the_databases_connection_limit(
    environment: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _without_cheap_password_hashing(monkeypatch)
    tfvars = parse(TERRAFORM / "environments" / environment / "terraform.tfvars")
    catalog = _environment_catalog(tmp_path, tfvars)
    budget, services = catalog["connection_budget"], catalog["services"]
    assert budget["max_connections"] == tfvars["database_max_connections"]
    held = 0
    for name, service in services.items():
        requested = tfvars["scaling"][name]
        assert requested["min"] <= service["min_instances"] <= service["max_instances"] <= max(1, requested["max"])
        for key, value in {**service["env"], service["database_url_env"]: "postgresql+psycopg://u@h/d"}.items():
            monkeypatch.setenv(key, value)
        pool = settings_class(name)().db_pool
        assert service["db_connections"] >= pool.size + pool.overflow  # the pool the deploy sets is what is counted
        held += service["max_instances"] * service["db_connections"]
    assert held == budget["services_at_max"]
    assert held <= tfvars["database_max_connections"] - budget["reserved"]
    if budget["requested_at_max"] <= tfvars["database_max_connections"] - budget["reserved"]:
        assert all(s["max_instances"] == tfvars["scaling"][n]["max"] for n, s in services.items())


def test_a_database_too_small_for_the_minimum_instances_is_refused_at_plan(tmp_path: Path) -> None:
    tfvars = parse(TERRAFORM / "environments" / "prod" / "terraform.tfvars")
    with pytest.raises(RuntimeError, match="need more database connections"):
        _environment_catalog(tmp_path, {**tfvars, "database_max_connections": 60})


def test_services_that_pull_may_read_their_subscriptions_and_always_have_an_instance_running() -> None:
    topology = load_topology()
    pullers = {s.subscriber for s in topology.pull_subscriptions()}
    assert pullers == {"billing"}
    for name in pullers:
        definition = definitions()[name]
        assert definition["cpu_idle"] is False, f"{name} pulls between requests: its CPU must stay allocated"
        assert definition["scaling"]["min"] >= 1, f"{name} pulls: no request would ever start an instance"
    pubsub = parse(TERRAFORM / "modules" / "pubsub" / "main.tf")
    (locals_block,) = [b for b in pubsub["locals"] if "pull_subs" in b]
    assert "s.subscriber != null && s.push_endpoint == null" in locals_block["pull_subs"]
    grants = {
        name: body
        for r in pubsub["resource"]
        for name, body in r.get("google_pubsub_subscription_iam_member", {}).items()
    }
    assert grants["pull_subscriber"]["for_each"] == "${local.pull_subs}"
    assert grants["pull_subscriber"]["role"] == "roles/pubsub.subscriber"
    assert grants["pull_subscriber"]["member"] == "serviceAccount:${var.service_emails[each.value.subscriber]}"


def test_scheduled_jobs_call_real_routes_of_services_that_trust_the_scheduler() -> None:
    blocks = parse(TERRAFORM / "modules" / "agentworks" / "main.tf")["locals"]
    (schedules,) = [b["schedules"] for b in blocks if "schedules" in b]
    assert set(schedules) == {"close-period", "reconcile", "prune-logs"}
    for job in schedules.values():
        service, path = job["service"], job["path"]
        assert "scheduler" in trusted_callers(service)
        document = json.loads((ROOT / "contracts" / "openapi" / f"{service}.json").read_text())
        route = re.sub(r"/previous/", "/{period}/", path)
        assert "post" in document["paths"][route], path


def test_monitoring_has_the_critical_alerts_on_metrics_the_services_log() -> None:
    monitoring = parse(TERRAFORM / "modules" / "monitoring" / "main.tf")
    (alerts,) = [b["alerts"] for b in monitoring["locals"] if "alerts" in b]
    assert set(alerts) == {
        "service_errors",
        "run_failures",
        "database_connections",
        "cost_spike",
        "usage_backlog",
        "websocket_disconnects",
        "fanout_listener_reconnects",
        "fanout_notify_failures",
    }
    (ledger,) = [b["ledger_subscription"] for b in monitoring["locals"] if "ledger_subscription" in b]
    assert load_topology().subscription(ledger).is_pull  # its failures are nacks, which no 5xx alert sees
    assert alerts["usage_backlog"]["query"].endswith("> 600")
    thresholds = {
        "service_errors": "> 0.01",
        "run_failures": "> 0.05",
        "websocket_disconnects": "> 0.1",
        "fanout_listener_reconnects": "> 3",
        "fanout_notify_failures": "> 0",
    }
    for key, threshold in thresholds.items():
        assert alerts[key]["query"].endswith(threshold)
    logged = {
        "run.finished": ROOT / "services/orchestrator/src/agentworks_orchestrator/runs/service.py",
        "billing.cost_spike": ROOT / "services/billing/src/agentworks_billing/ledger/service.py",
        "websocket.closed": ROOT / "services/log-stream/src/agentworks_log_stream/terminal/endpoints.py",
        "fanout.listener_reconnecting": ROOT / "services/log-stream/src/agentworks_log_stream/terminal/fanout.py",
        "fanout.notify_failed": ROOT / "services/log-stream/src/agentworks_log_stream/terminal/fanout.py",
    }
    filters = [body["filter"] for r in monitoring["resource"] for body in r.get("google_logging_metric", {}).values()]
    for event, source in logged.items():
        assert f'"{event}"' in source.read_text()
        assert any(f'jsonPayload.message="{event}"' in f for f in filters), event


# --- checkov ----------------------------------------------------------------------------------------------


def _checkov(*args: str) -> dict[str, Any]:
    if not CHECKOV.exists():
        pytest.skip("checkov is installed by `make test` (make deploy-tools)")
    result = subprocess.run(
        [str(CHECKOV), *args, "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=600,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"},
    )
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    failed = [(c["check_id"], c["resource"]) for r in reports for c in r["results"]["failed_checks"]]
    assert failed == [], failed
    return {
        "summary": [r["summary"] for r in reports],
        "skipped": [c for r in reports for c in r["results"]["skipped_checks"]],
        "passed": [c for r in reports for c in r["results"]["passed_checks"]],
    }


@pytest.mark.timeout(600)  # checkov takes minutes on a loaded machine
def test_checkov_finds_no_failed_check_and_every_skip_is_justified() -> None:
    terraform = _checkov("-d", "terraform", "--framework", "terraform")
    assert terraform["summary"][0]["passed"] > 40
    assert terraform["summary"][0]["parsing_errors"] == 0
    for skipped in terraform["skipped"]:
        reason = skipped["check_result"].get("suppress_comment", "")
        assert len(reason.split()) >= 5, (skipped["check_id"], reason)
    docker = _checkov("-d", "docker", "--framework", "dockerfile")  # the services' image and the sandbox's
    assert docker["summary"][0]["failed"] == 0
    assert docker["skipped"] == []
    scanned = {check["file_path"].lstrip("/") for check in docker["passed"]}
    assert scanned == {"Dockerfile", "sandbox.Dockerfile"}
    assert docker["summary"][0]["passed"] > 20


# --- sandbox job ------------------------------------------------------------------------------------------


def _resources(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for block in parse(path)["resource"]:
        for kind, named in block.items():
            for name, body in named.items():
                found[(kind, name)] = body
    return found


def test_the_sandbox_job_runs_on_gvisor_with_no_egress_but_the_storage_api() -> None:
    resources = _resources(TERRAFORM / "modules" / "sandbox" / "main.tf")
    job = resources[("google_cloud_run_v2_job", "sandbox")]["template"][0]
    (task,) = job["template"]
    assert (job["task_count"], task["max_retries"]) == (1, 0)
    assert task["execution_environment"] == "EXECUTION_ENVIRONMENT_GEN1"
    (vpc,) = task["vpc_access"]
    assert vpc["egress"] == "ALL_TRAFFIC"
    assert vpc["network_interfaces"][0]["network"] == "${google_compute_network.sandbox.id}"
    firewalls = {name: body for (kind, name), body in resources.items() if kind == "google_compute_firewall"}
    egress = {name: body for name, body in firewalls.items() if body["direction"] == "EGRESS"}
    assert egress["deny_egress"]["destination_ranges"] == ["0.0.0.0/0"]
    assert egress["deny_egress"]["deny"] == [{"protocol": "all"}]
    allowed = [body for body in egress.values() if "allow" in body]
    assert [(b["destination_ranges"], b["allow"]) for b in allowed] == [
        (["199.36.153.4/30"], [{"protocol": "tcp", "ports": ["443"]}])
    ]
    assert all(body["network"] == "${google_compute_network.sandbox.id}" for body in firewalls.values())


def test_the_sandbox_identity_reaches_only_its_prefix_and_the_orchestrator_may_run_the_job() -> None:
    resources = _resources(TERRAFORM / "modules" / "sandbox" / "main.tf")
    assert not [key for key in resources if key[0] == "google_project_iam_member"]  # no project-wide role
    grants = {name: body for (kind, name), body in resources.items() if kind == "google_storage_bucket_iam_member"}
    for body in grants.values():
        assert body["condition"][0]["expression"] == 'resource.name.startsWith("${local.objects}")'
    job = grants["job_objects"]
    assert job["member"] == "serviceAccount:${google_service_account.sandbox.email}"
    # By name only: no listing (other runs' names are random), no overwriting or deleting a result.
    assert job["role"] == "${google_project_iam_custom_role.job_objects.id}"
    role = resources[("google_project_iam_custom_role", "job_objects")]
    assert sorted(role["permissions"]) == ["storage.objects.create", "storage.objects.get"]
    assert grants["orchestrator_objects"]["role"] == "roles/storage.objectUser"
    runs = resources[("google_cloud_run_v2_job_iam_member", "orchestrator_runs")]
    assert (runs["role"], runs["member"]) == (
        "roles/run.jobsExecutorWithOverrides",
        "serviceAccount:${var.orchestrator_email}",
    )


def test_the_orchestrator_runs_commands_in_the_job_the_catalog_names(catalog: dict[str, Any]) -> None:
    env = catalog["services"]["orchestrator"]["env"]
    assert env["AW_ORCHESTRATOR_SANDBOX"] == "cloud-run-job"
    assert env["AW_ORCHESTRATOR_SANDBOX_JOB"] == catalog["sandbox"]["job"]
    assert env["AW_ORCHESTRATOR_SANDBOX_BUCKET"] == catalog["sandbox"]["bucket"] == "agentworks-sandbox-prod"
    assert catalog["sandbox"]["image"].endswith("/sandbox:0123abc")
    modules = parse(TERRAFORM / "modules" / "agentworks" / "main.tf")["module"]
    (module,) = [block["sandbox"] for block in modules if "sandbox" in block]
    assert module["job_name"] == "${module.catalog.sandbox.job}"
    assert module["image"] == "${module.catalog.sandbox.image}"
    build = yaml.safe_load((ROOT / "cloudbuild.yaml").read_text())
    steps = {step["id"]: step for step in build["steps"]}
    assert "docker/sandbox.Dockerfile" in steps["build-sandbox"]["args"]
    assert "push-sandbox" in steps["migrate"]["waitFor"]


# --- attachments bucket -----------------------------------------------------------------------------------


def test_core_keeps_attachments_in_a_private_bucket_only_it_may_use(catalog: dict[str, Any]) -> None:
    env = catalog["services"]["core"]["env"]
    assert (env["AW_CORE_BLOBS_BACKEND"], env["AW_CORE_ATTACHMENTS_BUCKET"]) == ("gcs", "agentworks-attachments-prod")
    storage = parse(TERRAFORM / "modules" / "storage" / "main.tf")
    (buckets,) = [block["buckets"] for block in storage["locals"] if "buckets" in block]
    assert buckets["attachments"]["name"] == "${var.bucket_prefix}-attachments-${var.environment}"
    (bucket,) = [
        block["google_storage_bucket"]["bucket"] for block in storage["resource"] if "google_storage_bucket" in block
    ]
    assert (bucket["uniform_bucket_level_access"], bucket["public_access_prevention"]) == (True, "enforced")
    assert "cors" not in bucket  # browsers get an attachment's bytes from core, never from the bucket
    modules = parse(TERRAFORM / "modules" / "agentworks" / "main.tf")["module"]
    (catalog_module,) = [block["catalog"] for block in modules if "catalog" in block]
    assert catalog_module["attachments_bucket"] == buckets["attachments"]["name"]
    (storage_module,) = [block["storage"] for block in modules if "storage" in block]
    granted = [grant["email"] for grant in storage_module["object_admins"] if grant["bucket"] == "attachments"]
    assert granted == ['${google_service_account.identity["core"].email}']  # on that bucket alone, to core alone


# --- Dockerfile -------------------------------------------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def _stages() -> dict[str, list[tuple[str, str]]]:
    stages: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for instruction, argument in _instructions():
        if instruction == "FROM":
            current = [(instruction, argument)]
            stages[argument.split()[-1]] = current
        else:
            current.append((instruction, argument))
    return stages


def test_dockerfile_pins_bases_and_installs_dependencies_before_source_without_dev_packages() -> None:
    stages = _stages()
    assert set(stages) == {"build", "service", "web", "gateway"}
    for instruction, argument in _instructions():
        if instruction == "FROM" and argument.split()[0] not in stages:
            image = argument.split()[0]
            assert re.fullmatch(r"[\w./-]+:\d+\.\d+\.\d+[\w.-]*", image), f"unpinned base image {image}"
        if instruction == "COPY" and "--from=" in argument and "ghcr.io" in argument:
            assert re.search(r"uv:\d+\.\d+\.\d+ ", argument)
    build = stages["build"]
    syncs = [i for i, (ins, arg) in enumerate(build) if ins == "RUN" and "uv sync" in arg]
    first_source = next(i for i, (ins, arg) in enumerate(build) if ins == "COPY" and arg.startswith("libs/ "))
    assert len(syncs) == 2
    assert syncs[0] < first_source < syncs[1], "dependencies first, then the source"
    assert "--no-install-workspace" in build[syncs[0]][1]
    for index in syncs:
        assert "--frozen" in build[index][1]
        assert "--no-dev" in build[index][1]
    copied = {
        arg.split()[0] for ins, arg in build[: syncs[0]] if ins == "COPY" and arg.split()[0].endswith("/pyproject.toml")
    }
    members = {str(p.relative_to(ROOT)) for p in ROOT.glob("*/*/pyproject.toml") if p.parts[-3] in {"libs", "services"}}
    members |= {str(p.relative_to(ROOT)) for p in (ROOT / "infra").glob("*/pyproject.toml")}
    assert copied == members, "the dependency layer must see every workspace member's pyproject.toml"


def test_dockerfile_runs_as_non_root_with_an_exec_form_command_on_port() -> None:
    service = dict(_stages()["service"])
    user = service["USER"].split(":")[0]
    assert user.isdigit()
    assert int(user) != 0
    assert json.loads(service["CMD"]) == ["agentworks-service", "serve"]
    assert service["STOPSIGNAL"] == "SIGTERM"
    assert "AGENTWORKS_SERVICE=${SERVICE}" in service["ENV"]
    assert "PORT=8080" in service["ENV"]
    assert service["HEALTHCHECK"].split("CMD", 1)[1].strip().startswith("[")
    gateway = _stages()["gateway"]
    assert gateway[0] == ("FROM", "service AS gateway")
    assert ("COPY", "--from=web /web/dist /app/services/gateway/web/dist") in gateway
    web = _stages()["web"]
    assert [arg for ins, arg in web if ins == "RUN"] == ["npm ci --no-audit --no-fund", "npm run build"]


def test_dockerignore_keeps_local_state_and_secrets_out_of_the_context() -> None:
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    for pattern in ("**/.git", "**/.venv", "**/.dev", "**/node_modules", "**/tests", "**/.env", "terraform"):
        assert pattern in ignored


# --- The container entry point ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_the_entry_point_migrates_serves_on_port_and_stops_gracefully(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "AGENTWORKS_SERVICE": "provider-router",
        "AW_PROVIDER_ROUTER_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/router.db",
        "AW_PROVIDER_ROUTER_DEV_SIGNING_KEY_FILE": str(tmp_path / "key.pem"),
        "PUBSUB_EMULATOR_HOST": "127.0.0.1:9",  # publishing is not exercised; the client needs no credentials
        "PORT": str(_free_port()),
    }
    command = [sys.executable, "-m", "agentworks_platform.serve"]
    migrated = subprocess.run([*command, "migrate"], env=env, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert migrated.returncode == 0, migrated.stderr
    assert "provider-router: migrations applied" in migrated.stdout
    with subprocess.Popen(
        [*command, "serve"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    ) as server:
        try:
            assert _wait_ready(f"http://127.0.0.1:{env['PORT']}/readyz", server) == 200
            server.send_signal(signal.SIGTERM)
            # uvicorn re-raises the signal once it has shut down, so the status is either 0 or "terminated"
            assert server.wait(timeout=15) in (0, -signal.SIGTERM)
        finally:
            if server.poll() is None:
                server.kill()
        output = server.stdout.read().decode() if server.stdout else ""
    assert "service.stopped" in output
    assert "Application shutdown complete" in output


def _wait_ready(url: str, server: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, "the service exited while starting"
        try:
            return httpx.get(url, timeout=2).status_code
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError("the service did not become ready")


def test_the_entry_point_refuses_a_bad_port_or_an_unknown_service() -> None:
    env = {**os.environ, "PORT": "http"}
    bad_port = subprocess.run(
        [sys.executable, "-m", "agentworks_platform.serve", "serve", "core"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad_port.returncode != 0
    assert "PORT must be a TCP port number" in bad_port.stderr
    unknown = subprocess.run(
        [sys.executable, "-m", "agentworks_platform.serve", "migrate", "nonesuch"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert unknown.returncode != 0
    assert "agentworks_nonesuch has no module" in unknown.stderr
