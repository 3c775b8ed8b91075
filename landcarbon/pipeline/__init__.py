"""Orchestration: config -> steps -> outputs. The one place that wires step functions
(which know nothing of configs or files) into a run.

* :func:`assess` / :func:`run`: one land-cover date (or one parcel layer) -> assessed units.

Step functions live in their own modules; each orchestration lives in a private module here.
"""

from __future__ import annotations

from landcarbon.pipeline._assess import Assessment, RunResult, assess, run

__all__ = ["Assessment", "RunResult", "assess", "run"]
