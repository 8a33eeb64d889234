"""The native speedscope writer (TraceEvent's exact shape), the streaming summary and the tool."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tools.analysis import speedscope
from tools.analysis.cpu import stack_samples
from tools.analysis.model import StackSample
from tools.analysis.speedscope import (
    Profile,
    dumps_speedscope,
    summarize_speedscope,
    write_speedscope,
)
from tools.analysis.topn import topn_rows
from tools.json_complete import is_complete_json
from tools.speedscope_tool import ConvertSpeedscopeArgs, convert_speedscope

REAL = "filtrace-net10-hotloop.speedscope.json"


def _reserialize(path: Path) -> tuple[str, str]:
    raw = path.read_text(encoding="utf-8")
    doc = json.loads(raw)
    profiles = [
        Profile(p["name"], [(e["type"], e["frame"], e["at"]) for e in p["events"]])
        for p in doc["profiles"]
    ]
    frames = [f["name"] for f in doc["shared"]["frames"]]
    return raw, dumps_speedscope(doc["name"], frames, profiles, doc["exporter"])


def test_serializer_reproduces_the_real_file_byte_for_byte(traces_dir: Path) -> None:
    """TraceEvent's file parsed and written back by our serializer is identical (340 KB)."""
    raw, ours = _reserialize(traces_dir / REAL)
    assert ours == raw


def test_strings_are_escaped_like_javascript_string_encode() -> None:
    """`"`, `\\`, control chars and `' < > &` escape as TraceEvent does (lowercase \\u)."""
    text = dumps_speedscope("n", ["a\"b\\c<d>e&f'g\th\x01"], [], "x")
    assert '{ "name": "a\\"b\\\\c\\u003cd\\u003ee\\u0026f\\u0027g\\th\\u0001" }' in text
    assert text.endswith('"shared": { "frames": [ { "name": "a\\"b\\\\c\\u003cd\\u003ee\\u0026f'
                         '\\u0027g\\th\\u0001" }] }, "profiles": [ ] }')  # fmt: skip


def test_consecutive_samples_merge_and_gaps_split(tmp_path: Path) -> None:
    """Same stack back to back: one open/close per frame; after a gap the frames reopen."""
    frames = ("m!N.T.Main()", "m!N.T.Work(Größe)")
    samples = [
        StackSample(7, 0.0, 1.0, frames, True),
        StackSample(7, 1.0, 1.0, frames, True),
        StackSample(7, 5.0, 1.0, frames[:1], True),
    ]
    out = json.loads(write_speedscope(samples, tmp_path / "t.speedscope.json").read_text())
    [profile] = out["profiles"]
    names = [f["name"] for f in out["shared"]["frames"]]
    work = names.index("m!N.T.Work(Größe)")
    opens = [e for e in profile["events"] if e["type"] == "O" and e["frame"] == work]
    assert len(opens) == 1
    main = names.index("m!N.T.Main()")
    assert [e["at"] for e in profile["events"] if e["frame"] == main] == [0, 2, 5, 6]
    assert profile["name"] == "Thread (7)" and names[:3] == [
        "(Non-Activities)",
        "Threads",
        "Thread (7)",
    ]


def test_native_file_from_a_real_trace_has_the_speedscope_shape(
    traces_dir: Path, tmp_path: Path
) -> None:
    """One line, one evented profile per thread, balanced events, times never going back."""
    out = write_speedscope(stack_samples(traces_dir / "filtrace-net10-wait.nettrace"),
                           tmp_path / "wait.speedscope.json")  # fmt: skip
    raw = out.read_text(encoding="utf-8")
    assert "\n" not in raw and raw.startswith('{"exporter": "perf-trace-analyzer@')
    doc = json.loads(raw)
    assert doc["name"] == "wait.speedscope" and doc["activeProfileIndex"] == 0
    assert len(doc["profiles"]) > 1
    for profile in doc["profiles"]:
        events = profile["events"]
        assert profile["name"].startswith("Thread (") and profile["unit"] == "milliseconds"
        assert profile["startValue"] == events[0]["at"]
        assert profile["endValue"] == events[-1]["at"]
        depth = 0
        for before, event in zip(events, events[1:], strict=False):
            assert event["at"] >= before["at"]
        for event in events:
            depth += 1 if event["type"] == "O" else -1
            assert depth >= 0
        assert depth == 0


def test_summary_self_time_matches_the_topn_exclusive_table(
    traces_dir: Path, tmp_path: Path
) -> None:
    """The same samples seen two ways agree: speedscope self % == topN exclusive %."""
    trace = traces_dir / "filtrace-net10-wait.nettrace"
    out = write_speedscope(stack_samples(trace), tmp_path / "w.speedscope.json")
    summary = summarize_speedscope(out, top=5)
    rows = topn_rows(stack_samples(trace), top=5, inclusive=False)
    assert [round(f.percent, 1) for f in summary.top_self] == [
        round(r.exclusive_percent, 1) for r in rows
    ]
    assert summary.top_self[0].name.endswith("WaitHandle.WaitOne(int32)")


def test_summary_of_the_real_file_streams_in_chunks(
    traces_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small read chunks give the same summary; pseudo frames never rank; threads add up."""
    whole = summarize_speedscope(traces_dir / REAL, top=10)
    monkeypatch.setattr(speedscope, "_CHUNK", 3000)
    monkeypatch.setattr(speedscope, "_KEEP", 1200)
    chunked = summarize_speedscope(traces_dir / REAL, top=10)
    assert chunked == whole
    assert "Memmove" in whole.top_self[0].name and 40 < whole.top_self[0].percent < 60
    names = [f.name for f in whole.top_self + whole.top_inclusive]
    assert not any(n.startswith(("Thread (", "Process64")) or n == "CPU_TIME" for n in names)
    assert len(whole.threads) == 2
    assert abs(sum(t.total_ms for t in whole.threads) - whole.total_ms) < 0.01


def test_convert_tool_uses_dotnet_trace_and_returns_only_a_summary(
    repo: Path, fakes: Any, make_ctx: Callable[..., Any]
) -> None:
    """`convert <file> --format Speedscope -o <out>`; the result is small, never the JSON."""
    result = convert_speedscope(ConvertSpeedscopeArgs(trace_path=str(fakes.trace)), make_ctx(repo))
    [call] = fakes.calls("dotnet-trace")
    out = repo / ".perf-trace-analyzer" / "speedscope" / "source-trace.speedscope.json"
    target = str(out.with_name("source-trace.json"))  # the CLI turns it into .speedscope.json
    assert not fakes.trace.with_suffix(".speedscope.json").exists()  # never beside the input
    link = call["argv"][1]
    assert call["argv"] == ["convert", link, "--format", "Speedscope", "-o", target]
    assert Path(link).name == fakes.trace.name and "scratch" in Path(link).parts
    assert result.source == "dotnet-trace" and result.speedscope_path == str(out)
    assert len(result.top_self) == 15 and result.threads
    text = result.model_dump_json()
    assert len(text) < 8000 and '"events"' not in text


def test_convert_falls_back_to_the_native_writer(
    repo: Path, fakes: Any, make_ctx: Callable[..., Any]
) -> None:
    """No dotnet-trace: the native writer produces the file and the result says so."""
    fakes.remove("dotnet-trace")
    result = convert_speedscope(
        ConvertSpeedscopeArgs(trace_path=str(fakes.trace), top=5), make_ctx(repo)
    )
    assert result.source == "native" and "not installed" in (result.note or "")
    assert Path(result.speedscope_path).stat().st_size == result.size_bytes > 0
    assert len(result.top_self) == 5


def test_profiles_are_ordered_by_their_first_event(tmp_path: Path) -> None:
    """Threads appear by first sample time, not arrival; non-ASCII names survive the spool."""
    samples = [
        StackSample(9, 10.0, 1.0, ("m!N.Ünïcode.Wörk()",), True),
        StackSample(3, 2.0, 1.0, ("m!N.T.Early()",), False),
    ]
    doc = json.loads(write_speedscope(samples, tmp_path / "o.speedscope.json").read_text())
    assert [p["name"] for p in doc["profiles"]] == ["Thread (3)", "Thread (9)"]
    assert "m!N.Ünïcode.Wörk()" in [f["name"] for f in doc["shared"]["frames"]]
    assert doc["shared"]["frames"][-1]["name"] == "UNMANAGED_CODE_TIME"


def test_evented_estimate_bounds_the_written_events(traces_dir: Path, tmp_path: Path) -> None:
    """The size check never underestimates: the file holds at most the estimated events."""
    from tools.analysis.cpu import evented_events, sample_scan, samples_of

    for name in ("filtrace-net10-wait.nettrace", "perfview-only_managed_samples.nettrace.zip"):
        scan = sample_scan(traces_dir / name)
        out = write_speedscope(samples_of(scan), tmp_path / f"{name}.speedscope.json")
        written = sum(len(p["events"]) for p in json.loads(out.read_text())["profiles"])
        assert 0 < written <= evented_events(scan), name


def test_a_trace_too_big_for_an_evented_file_gets_a_clear_error(
    repo: Path, fakes: Any, make_ctx: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rather than gigabytes of JSON: an error that names the size and the way around it."""
    from tools.analysis import cpu
    from tools.base import ToolError

    fakes.remove("dotnet-trace")
    monkeypatch.setattr(cpu, "MAX_EVENTED_EVENTS", 10)
    with pytest.raises(ToolError, match=r"would hold about [\d,]+ events.*Call analyze_trace"):
        convert_speedscope(ConvertSpeedscopeArgs(trace_path=str(fakes.trace)), make_ctx(repo))
    assert not list(repo.rglob("*.speedscope.json"))
    assert not fakes.trace.with_suffix(".speedscope.json").exists()


def test_a_conversion_that_breaks_half_way_is_redone_natively(
    repo: Path, fakes: Any, make_ctx: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """convert prints 'Conversion complete' and exits 0 after an exception, leaving half a file
    (TraceFileFormatConverter.cs:50-67): the JSON is checked, the native writer redoes it and
    the note says why."""
    monkeypatch.setenv("PTA_FAKE_TRACE_MODE", "broken")
    result = convert_speedscope(
        ConvertSpeedscopeArgs(trace_path=str(fakes.trace), top=5), make_ctx(repo)
    )
    assert result.source == "native" and "wrote an incomplete file" in (result.note or "")
    out = Path(result.speedscope_path)
    assert is_complete_json(out) and json.loads(out.read_text())["profiles"]
    assert not list(repo.rglob("*.etlx")) and not list(fakes.trace.parent.glob("*.etlx"))


def test_outputs_never_land_beside_a_trace_outside_the_repository(
    repo: Path, fakes: Any, make_ctx: Callable[..., Any], tmp_path: Path
) -> None:
    """A trace in a read-only folder elsewhere: the speedscope file goes to the work folder and
    nothing (no .speedscope.json, no .etlx) is written beside the trace."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    trace = elsewhere / "theirs.nettrace"
    trace.write_bytes(fakes.trace.read_bytes())
    (elsewhere / "theirs.speedscope.json").write_text("not ours")
    elsewhere.chmod(0o555)
    try:
        result = convert_speedscope(ConvertSpeedscopeArgs(trace_path=str(trace)), make_ctx(repo))
    finally:
        elsewhere.chmod(0o755)
    assert Path(result.speedscope_path).is_relative_to(repo / ".perf-trace-analyzer")
    assert sorted(p.name for p in elsewhere.iterdir()) == ["theirs.nettrace",
                                                           "theirs.speedscope.json"]  # fmt: skip
    assert (elsewhere / "theirs.speedscope.json").read_text() == "not ours"


@pytest.mark.parametrize(
    ("text", "whole"),
    [
        ('{"a": "x]}]", "b": [1, {"c": "\\\\"}]}', True),
        ('{"a": "q\\"]"}', True),
        (" [ ] \n", True),
        ('{"a": [1, 2]', False),
        ('{"a": "cut', False),
        ('{"a": 1}{"b": 2}', False),
        ("", False),
        ("}{", False),
    ],
)
def test_whole_json_is_told_from_a_cut_file(tmp_path: Path, text: str, whole: bool) -> None:
    """Brackets in strings and escaped quotes do not count; any chunk size gives one answer."""
    path = tmp_path / "f.json"
    path.write_text(text, encoding="utf-8")
    assert all(is_complete_json(path, chunk_bytes=n) is whole for n in (1, 2, 3, 7, 1 << 20))


def test_the_real_speedscope_file_is_whole_and_its_halves_are_not(
    traces_dir: Path, tmp_path: Path
) -> None:
    """TraceEvent's own file passes; cut anywhere, it fails."""
    raw = (traces_dir / REAL).read_bytes()
    assert is_complete_json(traces_dir / REAL, chunk_bytes=4096)
    for cut in (1, len(raw) // 3, len(raw) // 2, len(raw) - 1):
        (tmp_path / "cut.json").write_bytes(raw[:cut])
        assert not is_complete_json(tmp_path / "cut.json", chunk_bytes=4096), cut
