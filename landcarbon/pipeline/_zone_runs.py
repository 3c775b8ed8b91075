"""The ``zone`` and ``sweep`` runs: a config (or a finished run folder) -> an assessment with
every zoning section switched on, or a threshold sweep -> their output folder (atomically).

The command line (``landcarbon zone`` / ``landcarbon sweep``) only parses its arguments,
calls :func:`run_zoning` / :func:`run_sweep` and reports what they wrote.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from landcarbon.config.outputs import name
from landcarbon.config.run import RunConfig, config_from_dict, load_config
from landcarbon.config.zoning import UncertaintyConfig
from landcarbon.exceptions import ConfigError, InputError
from landcarbon.io.fingerprint import protected_inputs
from landcarbon.io.outputs import check_output_target, staged_output_dir
from landcarbon.io.publication import read_manifest
from landcarbon.io.tables import write_csv
from landcarbon.pipeline._assess import assess, run
from landcarbon.pipeline._compute import compute_context
from landcarbon.pipeline._zoning import ZONING_SECTIONS, with_all
from landcarbon.pipeline.records import RunResult
from landcarbon.pipeline.resolve import risk_bands
from landcarbon.zoning.uncertainty import threshold_sweep

__all__ = ["run_sweep", "run_zoning", "zoning_source"]


def zoning_source(source: str | os.PathLike[str]) -> tuple[RunConfig, Path]:
    """The config of a TOML file or of a finished run folder (its ``run.json``), and the
    default output folder of its zoning (``<run folder>/zoning`` or
    ``./<config name>_zoning``).

    Raises
    ------
    ConfigError
        A folder without ``run.json``, or a ``run.json`` without the run's configuration.
    """
    source = Path(source)
    if source.is_dir():
        manifest = source / name("run", "manifest")
        if not manifest.is_file():
            raise ConfigError(f"{source} is a folder without run.json: give a config file or "
                              "the output folder of a finished `landcarbon run`.")
        stored = read_manifest(manifest)
        data = stored.get("config")
        if not isinstance(data, dict):
            raise ConfigError(f"{manifest} holds no run configuration (key 'config'); give "
                              "the config file, or run it again with `landcarbon run`.")
        config = config_from_dict(data, data.get("base_dir") or ".")
        _inputs_unchanged(stored, source)
        return config, source / "zoning"
    return load_config(source), Path(f"{source.stem}_zoning")


def _inputs_unchanged(manifest: dict, folder: Path) -> None:
    """Refuse to zone a run folder whose inputs changed since the run (SHA-256 of
    ``run.json``): the zoning is computed from the inputs, and would not be that run's."""
    from landcarbon.io.fingerprint import input_sha256

    recorded = (manifest.get("fingerprint") or {}).get("inputs_sha256") or {}
    changed = []
    for path, digest in recorded.items():
        try:
            now = input_sha256(path)
        except OSError:
            now = None
        if now != digest:
            changed.append(f"{path} ({'gone' if now is None else 'changed'})")
    if changed:
        raise InputError(
            f"The inputs of the run in {folder} changed since it ran: {', '.join(changed)}. "
            "Its zoning would be computed from today's files and would not be that run's. "
            "Run `landcarbon run` again into that folder first (or give `landcarbon zone` "
            "the config file to zone today's inputs on their own).", code="output_stale")


def run_zoning(source: str | os.PathLike[str], out_dir: str | os.PathLike[str] | None = None,
               *, overwrite: bool = False, progress: bool = False) -> RunResult:
    """Assess ``source`` (a config file or a finished run folder) with every zoning section
    switched on (:func:`~landcarbon.pipeline._zoning.with_all`: defaults where absent) and
    write every output of a run into ``out_dir`` (default: :func:`zoning_source`'s):
    tables with the zoning columns, the zoning layers, rasters, ``run.json`` (with the
    fingerprint of the zoning config: a second ``zone`` with unchanged inputs and settings
    does nothing, as ``run`` does) and, unless ``output.map = false``, the map and the report
    with the zoning layers.

    Returns
    -------
    RunResult
        ``.assessment`` (its ``zoning["summary"]`` holds the zone counts; None when the
        folder was up to date), ``.out_dir`` (absolute), ``.files`` (``{role: file name}``)
        and ``.up_to_date``.
    """
    config, default_out = zoning_source(source)
    target = Path(out_dir) if out_dir is not None else default_out
    if Path(source).is_dir():  # the run folder read is an input: never replaced
        from landcarbon.io.ownership import check_inputs_outside

        check_inputs_outside(target, [source])
    return run(with_all(config), target, overwrite=overwrite, progress=progress,
               kind="zoning")


def _sweep_settings(uc: UncertaintyConfig, relative_range: float | None,
                    steps: int | None) -> UncertaintyConfig:
    """``uc`` with the sweep's range and steps replaced, checked as the config's are
    (ConfigError naming the option)."""
    from pydantic import ValidationError

    update = {k: v for k, v in (("sweep_relative_range", relative_range),
                                ("sweep_steps", steps)) if v is not None}
    try:
        return UncertaintyConfig.model_validate({**uc.model_dump(), **update})
    except ValidationError as exc:
        err = exc.errors()[0]
        key = str(err["loc"][0]) if err["loc"] else "sweep"
        option = {"sweep_relative_range": "--range", "sweep_steps": "--steps"}.get(key, key)
        raise ConfigError(f"Sweep {option} ([uncertainty] {key}) = {err.get('input')!r}: "
                          f"{err['msg']}. Give a range above 0 and at most 1 (e.g. 0.5) and "
                          "2 to 201 steps.") from None


def run_sweep(config: RunConfig, out_dir: str | os.PathLike[str], *,
              relative_range: float | None = None, steps: int | None = None,
              overwrite: bool = False, progress: bool = False
              ) -> tuple[pd.DataFrame, Path, dict[str, str]]:
    """Threshold sensitivity of ``config`` (assessed without its zoning sections): how many
    units change risk level as each space type's threshold moves by up to
    ``relative_range`` (default ``[uncertainty] sweep_relative_range``) in ``steps``
    (default ``[uncertainty] sweep_steps``); writes ``sweep.csv`` and ``sweep.png`` into
    ``out_dir`` (atomically).

    Returns
    -------
    (pandas.DataFrame, pathlib.Path, dict)
        The sweep table (:func:`~landcarbon.zoning.uncertainty.threshold_sweep`), the
        absolute output folder and ``{"sweep_csv": "sweep.csv", "sweep_plot": "sweep.png"}``.
    """
    # publish/ pulls in folium and matplotlib: only a sweep needs them
    from landcarbon.publish.figures import sweep_figure

    target = Path(out_dir)
    inputs = protected_inputs(config)
    check_output_target(target, overwrite=overwrite, inputs=inputs)
    uc = _sweep_settings(config.uncertainty or UncertaintyConfig(), relative_range, steps)
    base = config.model_copy(update={k: None for k in ZONING_SECTIONS if k != "statistics"})
    r = config.risk
    files = {key: name("sweep", key) for key in ("sweep_csv", "sweep_plot")}
    # the output's lock is held from before computing to the rename, as in run and zone
    with (staged_output_dir(target, overwrite=overwrite, inputs=inputs, kind="sweep") as stage,
          compute_context(config.compute)):
        a = assess(base, progress=progress)
        table = threshold_sweep(
            a.table_tc, a.thresholds, risk_bands(config),
            relative_range=uc.sweep_relative_range, steps=uc.sweep_steps,
            floor_tc_per_ha=r.scale_floor_tc_per_ha)
        write_csv(table, stage / files["sweep_csv"], encoding=config.output.csv_encoding)
        sweep_figure(table, language=config.language).savefig(stage / files["sweep_plot"],
                                                               dpi=120)
    return table, target.absolute(), files
