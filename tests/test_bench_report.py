"""`make bench b=…` refreshes some benchmarks without dropping the others' figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench import harness
from bench.harness import Result, Section, write_report


def section(name: str, figure: float) -> Section:
    s = Section(name=f"{name}: the {name} benchmark")
    s.results.append(Result(name=f"{name} figure", figure=figure, unit="ms"))
    s.details.append(f"{name} details")
    return s


def test_a_partial_run_keeps_the_benchmarks_it_did_not_repeat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(harness, "RESULTS_DIR", tmp_path)
    write_report([section("search", 1.0), section("orders", 2.0)], {})
    first = json.loads((tmp_path / "latest.json").read_text())
    first_date = first["machine"]["date"]

    markdown = write_report([section("orders", 3.0), section("hot_sku", 4.0)], {})

    report = json.loads((tmp_path / "latest.json").read_text())
    names = [b["name"].split(":")[0] for b in report["benchmarks"]]
    assert names == ["search", "orders", "hot_sku"]  # the previous order, new ones last
    figures = {b["name"].split(":")[0]: b["results"][0]["figure"] for b in report["benchmarks"]}
    assert figures == {"search": 1.0, "orders": 3.0, "hot_sku": 4.0}
    search = report["benchmarks"][0]
    assert search["date"] == first_date
    assert search["details"][0].startswith("Carried over from the run of")
    assert "carried over from an earlier run" in markdown

    # Carried over again: one note, the original date.
    write_report([section("hot_sku", 5.0)], {})
    again = json.loads((tmp_path / "latest.json").read_text())["benchmarks"][0]
    assert again["date"] == first_date
    assert sum(d.startswith("Carried over") for d in again["details"]) == 1
