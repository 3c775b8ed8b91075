"""Orchestration: config -> steps -> outputs. The one place that wires step functions
(which know nothing of configs or files) into a run.

* :func:`assess` / :func:`run`: one land-cover date (or one parcel layer) -> assessed units.
* :func:`assess_change` / :func:`run_change`: several dates -> transitions, stocks, time
  series, alerts, Markov projection; :func:`assess_scenarios` / :func:`run_scenarios`:
  scenario rasters and rule-based edits compared with a baseline.
* :func:`batch_configs` / :func:`batch_regions`: many configs, or one config over many
  regions, with one summary table.
* :func:`apply_zoning`: indicators, zones, hot spots, sink zones, compensation, uncertainty
  of an assessment (called by :func:`assess` when a zoning section is configured);
  :func:`run_zoning` (every zoning section on, CLI ``zone``) and :func:`run_sweep`
  (threshold sensitivity, CLI ``sweep``).
* :func:`publish_run` / :func:`build_portal`: a finished run -> maps, atlas report; a
  workspace of runs -> portal index.

Step functions live in their own modules; each orchestration lives in a private module here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: public name -> the private module defining it, imported at first use (PEP 562): a process
#: that needs one step (the figure worker, ``landcarbon validate``) does not import them all
_API = {
    "assess": "_assess", "run": "_assess",
    "BatchResult": "_batch", "batch_configs": "_batch", "batch_regions": "_batch",
    "assess_change": "_change", "rebalance": "_change", "run_change": "_change",
    "build_portal": "_publish", "publish_run": "_publish",
    "assess_scenarios": "_scenario", "run_scenarios": "_scenario",
    "run_sweep": "_zone_runs", "run_zoning": "_zone_runs",
    "apply_zoning": "_zoning",
    "Assessment": "records", "ChangeResult": "records", "RunResult": "records",
    "ScenarioResult": "records",
}

__all__ = ["Assessment", "BatchResult", "ChangeResult", "RunResult", "ScenarioResult",
           "apply_zoning", "assess", "assess_change", "assess_scenarios", "batch_configs",
           "batch_regions", "build_portal", "publish_run", "rebalance", "run", "run_change",
           "run_scenarios", "run_sweep", "run_zoning"]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'landcarbon.pipeline' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # pragma: no cover
    from landcarbon.pipeline._assess import assess, run
    from landcarbon.pipeline._batch import BatchResult, batch_configs, batch_regions
    from landcarbon.pipeline._change import assess_change, rebalance, run_change
    from landcarbon.pipeline._publish import build_portal, publish_run
    from landcarbon.pipeline._scenario import assess_scenarios, run_scenarios
    from landcarbon.pipeline._zone_runs import run_sweep, run_zoning
    from landcarbon.pipeline._zoning import apply_zoning
    from landcarbon.pipeline.records import Assessment, ChangeResult, RunResult, ScenarioResult
