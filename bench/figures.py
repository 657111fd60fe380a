"""Figures computed from results.json for the report: medians of rounds, per-round ratios
against each scenario's floor, the gateway's own CPU per call. Nothing is typed in."""

from __future__ import annotations

import statistics
from typing import Any

PB1, PB2 = "patchbay (1 worker)", "patchbay (2 workers)"
FLOOR, PEER, UP = "aiohttp passthrough", "LiteLLM proxy", "upstream (nginx)"


def median(runs: list[dict[str, Any]], scenario: str, target: str, field: str) -> float | None:
    values = [
        r[field]
        for r in runs
        if r["scenario"] == scenario and r["target"] == target and r.get(field) is not None
    ]
    return statistics.median(values) if values else None


def per_round(
    runs: list[dict[str, Any]], scenario: str, target: str, field: str
) -> dict[int, float]:
    return {
        r["round"]: r[field]
        for r in runs
        if r["scenario"] == scenario and r["target"] == target and r.get(field) is not None
    }


def floor_of(results: dict[str, Any], scenario: str) -> str:
    for item in results.get("scenarios", ()):
        if item["name"] == scenario:
            return str(item["floor"])
    return scenario


def ratio(
    results: dict[str, Any], scenario: str, field: str = "rps", target: str = PB1
) -> float | None:
    """The median over rounds of target / passthrough-on-the-floor-scenario, same round."""
    runs = results["runs"]
    mine = per_round(runs, scenario, target, field)
    floor = per_round(runs, floor_of(results, scenario), FLOOR, field)
    values = [mine[r] / floor[r] for r in mine if floor.get(r)]
    return statistics.median(values) if values else None


def own_cpu(results: dict[str, Any], scenario: str, target: str = PB1) -> float | None:
    """The gateway's own CPU per call: its CPU µs per request minus the passthrough's on the
    floor scenario in the same round, median of rounds."""
    runs = results["runs"]
    mine = per_round(runs, scenario, target, "cpu_us")
    floor = per_round(runs, floor_of(results, scenario), FLOOR, "cpu_us")
    values = [mine[r] - floor[r] for r in mine if r in floor and mine[r] and floor[r]]
    return statistics.median(values) if values else None


def fmt(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def times(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}×"


def verdict(ok: bool | None) -> str:
    return "n/a — not measured" if ok is None else ("**met**" if ok else "**missed**")


def unavailable(results: dict[str, Any], target: str, scenario: str) -> str | None:
    """Why a target did not run a scenario (its start-up check, or it did not start)."""
    if target in results.get("not_started", {}):
        return f"did not start: {results['not_started'][target]}"
    return (results.get("unavailable", {}).get(target) or {}).get(scenario)
