"""The ``[compute]`` config section (imported into :mod:`landcarbon.config.run`): where the dask
graphs of a run execute.

Example::

    [compute]
    scheduler = "tcp://10.0.0.5:8786"   # a dask.distributed cluster
    # scheduler = "threads"             # default: all cores of this machine
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["LOCAL_SCHEDULERS", "ComputeConfig"]

#: Single-machine dask schedulers (anything else is a dask.distributed scheduler address).
LOCAL_SCHEDULERS = ("threads", "processes", "synchronous")


class ComputeConfig(BaseModel):
    """``[compute]``: where chunked rasters are computed."""

    # NaN and inf are refused in every number (a silent wrong result otherwise)
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    scheduler: str = Field(
        "threads", description="'threads' (all cores, default), 'processes', 'synchronous' "
        "(one thread, for debugging) or a dask.distributed scheduler address such as "
        "'tcp://10.0.0.5:8786' (input paths must be readable by every worker)")
    num_workers: int | None = Field(
        None, ge=1, description="threads or processes of a local scheduler (default: cores)")

    @field_validator("scheduler")
    @classmethod
    def _check_scheduler(cls, value: str) -> str:
        value = value.strip()
        if value in LOCAL_SCHEDULERS or "://" in value:
            return value
        raise ValueError(f"scheduler must be one of {', '.join(LOCAL_SCHEDULERS)} or a "
                         f"dask.distributed address like 'tcp://host:8786', got {value!r}")
