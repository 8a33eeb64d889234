"""Per-repository settings of the profiled target, with the Dekaf defaults.

A target repository may carry ``.perf-trace-analyzer.toml`` at its root::

    stress_project = "tools/Dekaf.StressTests"
    scenario = "producer"
    kafka_image = "apache/kafka"
    kafka_tag = "4.3.1"
    needs_kafka = true
    kafka_start = "docker"   # or "script": the repository's start-kafka.sh / compose file
    trace_retention_mb = 2000

Every key is optional; without the file the Dekaf defaults apply.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tools.errors import ToolError

CONFIG_FILE_NAME = ".perf-trace-analyzer.toml"
"""The target configuration file, looked up at the repository root."""

DEFAULT_BOOTSTRAP = "localhost:9092"
"""Kafka bootstrap address when neither the caller, the environment nor the config names one."""

KAFKA_NOT_NEEDED = (
    "Kafka was not needed: the target's .perf-trace-analyzer.toml sets needs_kafka = false"
)
"""What start_kafka and the report say for a target that runs without a broker."""


class TargetConfig(BaseModel):
    """How to build, run and trace one target repository (defaults: Dekaf)."""

    model_config = ConfigDict(extra="forbid")

    stress_project: str = Field(
        default="tools/Dekaf.StressTests",
        description="Stress-test project folder, relative to the repo.",
    )
    stress_executable: str | None = Field(
        default=None,
        description="Built stress executable relative to the repo; default: found under "
        "<stress_project>/bin/<configuration>/<tfm>/<project name>.",
    )
    target_framework: str = Field(
        default="net10.0", description="TFM folder of the built executable."
    )
    target_prefix: str = Field(
        default="Dekaf.",
        description="Namespace prefix of the code under study (its share of CPU, its frames "
        "linked to source).",
    )
    needs_kafka: bool = Field(
        default=True,
        description="False when the stress tool runs without a Kafka broker (e.g. the FlushLab "
        "sample): start_kafka is skipped and no bootstrap address is passed.",
    )
    scenario: str = Field(
        default="producer",
        pattern=r"[a-z][a-z0-9-]{0,40}",
        description="Scenario traced when the request names none.",
    )
    trace_seconds: int = Field(
        default=15, ge=1, le=120, description="Trace window the offline planner asks for."
    )
    client: str = Field(default="dekaf", description="Default stress client.")
    message_size: int = Field(default=1000, ge=1, description="Default message size in bytes.")
    kafka_image: str = Field(default="apache/kafka", description="Image the Docker SDK runs.")
    kafka_tag: str = Field(default="4.3.1", description="Tag of kafka_image.")
    kafka_start: Literal["docker", "script"] = Field(
        default="docker",
        description="How start_kafka starts a broker when none answers: 'docker' runs "
        "kafka_image with the Docker SDK and Dekaf's broker settings; 'script' runs the "
        "repository's start-kafka.sh or compose file (Dekaf's own script uses a cluster id "
        "KRaft refuses).",
    )
    bootstrap: str | None = Field(default=None, description="Kafka bootstrap address.")
    trace_retention_mb: int = Field(
        default=2000, ge=1, description="Traces beyond this total size are removed, oldest first."
    )
    marker_timeout_s: int = Field(
        default=600, ge=1, description="How long to wait for the stress tool's measured phase."
    )
    collect_grace_s: int = Field(
        default=90,
        ge=1,
        description="Time dotnet-trace may take beyond its window (rundown) before kill.",
    )

    def bootstrap_address(self, explicit: str | None = None) -> str:
        """The bootstrap address: explicit, then KAFKA_BOOTSTRAP_SERVERS, config, localhost:9092."""
        return (
            explicit
            or os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
            or self.bootstrap
            or DEFAULT_BOOTSTRAP
        )

    def project_dir(self, repo: Path) -> Path:
        """The stress project folder inside ``repo``."""
        return inside_repo(repo, self.stress_project)

    def executable_path(self, repo: Path, configuration: str = "Release") -> Path:
        """Where the built stress executable is (or will be after a build)."""
        if self.stress_executable:
            return inside_repo(repo, self.stress_executable)
        project = self.project_dir(repo)
        name = project.name.removesuffix(".csproj")
        expected = project / "bin" / configuration / self.target_framework / name
        if expected.exists():
            return expected
        built = sorted(
            (project / "bin" / configuration).glob(f"*/{name}"),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        return built[0] if built else expected


def inside_repo(repo: Path, relative: str) -> Path:
    """``relative`` resolved against ``repo``; a path escaping the repository is refused."""
    root = repo.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        raise ToolError(f"path {relative!r} is outside the repository {str(root)!r}")
    return path


def load_target_config(repo: Path) -> TargetConfig:
    """Reads ``<repo>/.perf-trace-analyzer.toml``; Dekaf defaults when it is absent.

    Raises:
        ToolError: the file exists but is not valid TOML or has unknown/invalid keys.
    """
    path = repo / CONFIG_FILE_NAME
    if not path.is_file():
        return TargetConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return TargetConfig.model_validate(data)
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ToolError(f"invalid {CONFIG_FILE_NAME} in {str(repo)!r}: {exc}") from exc
