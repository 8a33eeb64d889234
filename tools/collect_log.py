"""dotnet-trace collect's console output, kept readable for the model.

With stdout redirected, collect prints no status lines but repeats "Stopping the trace. This may
take several minutes…" every 100 ms while the rundown drains (dotnet/diagnostics
CollectCommand.cs:395-442), so a plain output tail can hold nothing else. This log collapses
repeated lines, keeps the provider table and every `[ERROR]` line, and stays bounded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_LINES = 60
"""Distinct lines kept after the head; older ones are dropped, error lines never."""
HEAD_LINES = 12
"""Lines always kept from the start (the provider table, process and output file)."""
MAX_LINE_CHARS = 300


@dataclass
class _Line:
    text: str
    repeats: int = 1

    def render(self) -> str:
        return self.text if self.repeats == 1 else f"{self.text} (×{self.repeats})"


@dataclass
class CollectLog:
    """Lines of dotnet-trace collect's output with consecutive repeats collapsed."""

    head: list[_Line] = field(default_factory=list)
    tail: list[_Line] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dropped: int = 0

    def feed(self, line: str) -> None:
        """Records one output line."""
        text = line.rstrip()[:MAX_LINE_CHARS]
        kept = self.tail or self.head
        last = kept[-1] if kept else None
        if last is not None and last.text == text and text:
            last.repeats += 1
            return
        if text.startswith("[ERROR]") and len(self.errors) < 5:
            self.errors.append(text)
        if len(self.head) < HEAD_LINES:
            self.head.append(_Line(text))
            return
        self.tail.append(_Line(text))
        if len(self.tail) > MAX_LINES:
            self.tail.pop(0)
            self.dropped += 1

    def text(self) -> str:
        """The kept lines; error lines that fell out of the window are listed after a note."""
        lines = [line.render() for line in self.head]
        if self.dropped:
            lines.append(f"… ({self.dropped} lines left out)")
        lines += [line.render() for line in self.tail]
        shown = set(lines)
        lines += [error for error in self.errors if error not in shown]
        return "\n".join(lines).strip("\n")
