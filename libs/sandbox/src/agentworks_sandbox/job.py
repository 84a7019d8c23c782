"""What one sandbox job execution does, and how the caller and the job agree on it.

The caller puts the working copy at ``<prefix>/<run>/input.tar.gz`` in the blobs port and runs the job with the
command as the container's args and ``AW_SANDBOX_RUN`` and ``AW_SANDBOX_LIMITS`` as env overrides. The job unpacks
the copy, runs the command, and writes ``result.json`` and, when the command changed the copy, ``output.tar.gz``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentworks_blobs import BlobStore

from agentworks_sandbox.archive import fingerprint, pack, unpack
from agentworks_sandbox.port import CommandResult, Sandbox, SandboxLimits

RUN_ENV = "AW_SANDBOX_RUN"
LIMITS_ENV = "AW_SANDBOX_LIMITS"
BUCKET_ENV = "AW_SANDBOX_BUCKET"
PREFIX_ENV = "AW_SANDBOX_PREFIX"
DEFAULT_PREFIX = "sandbox"


class JobFailure(RuntimeError):
    """The job could not run the command (its input is missing or unreadable); no result is written."""


@dataclass(frozen=True)
class JobPaths:
    """Where one run's objects live in the blobs port."""

    prefix: str
    run: str

    @property
    def input(self) -> str:
        return f"{self.prefix}/{self.run}/input.tar.gz"

    @property
    def output(self) -> str:
        return f"{self.prefix}/{self.run}/output.tar.gz"

    @property
    def result(self) -> str:
        return f"{self.prefix}/{self.run}/result.json"


def limits_to_json(limits: SandboxLimits) -> str:
    return json.dumps(dataclasses.asdict(limits), separators=(",", ":"))


def limits_from_json(text: str) -> SandboxLimits:
    values = json.loads(text)
    known = {field.name for field in dataclasses.fields(SandboxLimits)}
    if not isinstance(values, dict) or set(values) - known:
        raise JobFailure(f"{LIMITS_ENV} is not a limits object: {text[:200]}")
    return SandboxLimits(**values)


def result_to_json(result: CommandResult, *, changed: bool) -> bytes:
    return json.dumps({**dataclasses.asdict(result), "changed": changed}).encode()


def result_from_json(data: bytes) -> tuple[CommandResult, bool]:
    values: dict[str, Any] = json.loads(data)
    changed = bool(values.pop("changed"))
    return CommandResult(**values), changed


async def run_job(
    blobs: BlobStore, executor: Sandbox, paths: JobPaths, argv: list[str], limits: SandboxLimits, workdir: Path
) -> CommandResult:
    """Unpacks the working copy into ``workdir``, runs the command there, and writes back what it did."""
    data = await blobs.get(paths.input)
    if data is None:
        raise JobFailure(f"no working copy at {paths.input}")
    await asyncio.to_thread(unpack, data, workdir)
    before = await asyncio.to_thread(fingerprint, workdir)
    result = await executor.run(argv, workdir, limits)
    changed = await asyncio.to_thread(fingerprint, workdir) != before
    if changed:
        await blobs.put(paths.output, await asyncio.to_thread(pack, workdir), "application/gzip")
    await blobs.put(paths.result, result_to_json(result, changed=changed), "application/json")
    return result


def main() -> None:
    """The sandbox image's entrypoint: ``python -m agentworks_sandbox.job <command argv…>``."""
    from agentworks_blobs import GcsBlobs

    from agentworks_sandbox.container import JobContainerExecutor

    paths = JobPaths(os.environ.get(PREFIX_ENV, DEFAULT_PREFIX), os.environ[RUN_ENV])
    limits = limits_from_json(os.environ[LIMITS_ENV])
    blobs = GcsBlobs(os.environ[BUCKET_ENV])
    workdir = Path("/workspace")
    workdir.mkdir(exist_ok=True)
    asyncio.run(run_job(blobs, JobContainerExecutor(), paths, sys.argv[1:], limits, workdir))


if __name__ == "__main__":
    main()
