"""trace_collect's input and result: what the model may ask for, and what it gets back."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from tools.analysis.hang_models import StallInfo
from tools.providers import Preset
from tools.stacks.model import Snapshot
from tools.stress_output import ProgressLine, ResourcesLine
from tools.stress_plan import LONG_RUN_MINUTES, check_stress_option, long_run_refusal


class TraceCollectArgs(BaseModel):
    """Input of trace_collect."""

    model_config = ConfigDict(extra="forbid")

    preset: Preset = Field(
        default="cpu",
        description="cpu (samples), alloc (GC allocation ticks + CPU samples), contention "
        "(lock waits + CPU samples), all (CPU + GC + contention + waits), hang (CPU + locks + "
        "waits + thread pool + task awaits; costly, only for hang/deadlock questions).",
    )
    providers: str | None = Field(
        default=None,
        description="Custom providers 'Name[:0xKeywords[:Level]],…'; overrides preset.",
    )
    scenario: str = Field(
        default="producer",
        pattern=r"^[a-z][a-z0-9-]{0,40}$",
        description="ONE stress scenario (producer, consumer, soak, producer-roundtrip-steady, "
        "…); 'all' runs ~12 in a row and needs confirm_long_run.",
    )
    client: Literal["dekaf", "confluent"] = Field(
        default="dekaf", description="Client library to run."
    )
    message_size: int = Field(
        default=1000, ge=1, le=10_000_000, description="Message size in bytes."
    )
    trace_seconds: int = Field(default=15, ge=1, le=120, description="Trace window in SECONDS.")
    run_minutes: int | None = Field(
        default=None,
        ge=1,
        le=60,
        description="Stress --duration in whole MINUTES; default: just long enough for the "
        f"trace window. The tool is stopped once the trace is written anyway. Above "
        f"{LONG_RUN_MINUTES} needs confirm_long_run.",
    )
    stress_options: dict[str, str] = Field(
        default_factory=dict,
        description="Extra stress flags without '--': partitions, linger-ms, batch-size, "
        "compression (none, lz4, snappy, zstd), seed-messages.",
    )
    wait_for_exit: bool = Field(
        default=False,
        description="Keep the stress tool running to the end of its --duration (for its final "
        "numbers and correctness verdict) instead of stopping it once the trace is written.",
    )
    confirm_long_run: bool = Field(
        default=False,
        validate_default=True,
        description=f"True only when the user asked for scenario 'all' or for run_minutes above "
        f"{LONG_RUN_MINUTES}; both are refused otherwise.",
    )

    @field_validator("stress_options")
    @classmethod
    def _allowed_options(cls, value: dict[str, str]) -> dict[str, str]:
        for key, option in value.items():
            check_stress_option(key, option)
        return value

    @field_validator("confirm_long_run")
    @classmethod
    def _short_unless_confirmed(cls, value: bool, info: ValidationInfo) -> bool:
        scenario, minutes = info.data.get("scenario"), info.data.get("run_minutes")
        refusal = long_run_refusal(scenario, minutes) if isinstance(scenario, str) else None
        if refusal is not None and not value:
            raise ValueError(refusal)
        return value


class TraceCollectResult(BaseModel):
    """The trace written and what the stress tool reported while it was recorded."""

    trace_path: str = Field(description="The .nettrace file; pass it to the analysis tools.")
    size_bytes: int = Field(description="Trace size.")
    providers: str = Field(description="The --providers value used.")
    trace_seconds: int = Field(description="Requested trace window in seconds.")
    window_s: float = Field(description="Measured time dotnet-trace ran.")
    marker_wait_s: float = Field(
        default=0.0, description="Seconds from starting the stress tool to its measured phase."
    )
    stall: StallInfo = Field(
        default_factory=lambda: StallInfo(detected=False),
        description="Whether the stress tool's progress stopped during the trace, and since when.",
    )
    partial: bool = Field(description="The trace was cut short (crash or overrun); still readable.")
    messages: int | None = Field(description="Messages estimated for the trace window.")
    msg_per_s: float | None = Field(description="Latest average throughput of the stress tool.")
    progress: list[ProgressLine] = Field(description="Parsed Progress lines (newest kept).")
    resources: list[ResourcesLine] = Field(
        description="Parsed Resources lines: Initial, the newest Monitor (every 5 s), Final."
    )
    stress_exit_code: int | None = Field(
        description="Exit status if the stress tool ended by itself; None when we stopped it."
    )
    stress_command: str = Field(description="The stress tool command line, to reproduce.")
    stress_output_dir: str = Field(description="The stress tool's --output (results, watchdog).")
    watchdog_captures: list[str] = Field(
        description="Stack captures the stress tool's progress watchdog wrote (stalls)."
    )
    warnings: list[str] = Field(description="Things the user should know.")
    collect_output: str = Field(
        description="dotnet-trace collect's output, repeated lines collapsed, errors kept."
    )
    snapshot: Snapshot | None = Field(
        default=None,
        description="Every thread's stack, taken on a stall before the tool was stopped.",
    )
