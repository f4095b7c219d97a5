"""Figures: one measured value with the bound it must meet, appended as a JSON line to a file shared by
every part of ``make verify`` (pytest parts run in a child process, so a file, not memory, collects them).

A figure without a bound is informational (requests served, p95); one with ``must_be``/``at_most``/
``at_least`` fails the run when missed.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV_VAR = "VERIFY_FIGURES_FILE"


def figures_file() -> Path:
    return Path(os.environ.get(ENV_VAR) or ROOT / "var" / "verify-figures.jsonl")


@dataclass
class Figure:
    name: str  # "<part>.<what>", e.g. "load.errors"
    value: float | int | str
    unit: str = ""
    must_be: float | int | None = None
    at_most: float | int | None = None
    at_least: float | int | None = None
    detail: str = ""  # how it was measured, one short clause
    at: str = ""

    @property
    def ok(self) -> bool:
        if self.must_be is not None and self.value != self.must_be:
            return False
        if self.at_most is not None and not (
            isinstance(self.value, int | float) and self.value <= self.at_most
        ):
            return False
        if self.at_least is not None and not (
            isinstance(self.value, int | float) and self.value >= self.at_least
        ):
            return False
        return True

    @property
    def bound(self) -> str:
        if self.must_be is not None:
            return f"must be {self.must_be}"
        parts = []
        if self.at_least is not None:
            parts.append(f">= {self.at_least}")
        if self.at_most is not None:
            parts.append(f"<= {self.at_most}")
        return " and ".join(parts)

    def line(self) -> str:
        value = f"{self.value:,}" if isinstance(self.value, int) else str(self.value)
        text = f"{self.name:<38} {value}{(' ' + self.unit) if self.unit else ''}"
        if self.bound:
            text += f"   [{'ok' if self.ok else 'FAIL'}: {self.bound}]"
        if self.detail:
            text += f"   ({self.detail})"
        return text


def figure(
    name: str,
    value,
    unit: str = "",
    *,
    must_be=None,
    at_most=None,
    at_least=None,
    detail: str = "",
) -> Figure:
    """Record one figure (and print it, so a part run on its own shows it too)."""
    fig = Figure(name, value, unit, must_be, at_most, at_least, detail, time.strftime("%H:%M:%S"))
    path = figures_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(asdict(fig)) + "\n")
    print("FIGURE " + fig.line(), flush=True)
    return fig


def read_figures(path: Path | None = None) -> list[Figure]:
    path = path or figures_file()
    if not path.exists():
        return []
    figures = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.strip():
            data = json.loads(raw)
            figures.append(Figure(**data))
    return figures
