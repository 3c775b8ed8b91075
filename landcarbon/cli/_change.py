"""Change-over-time commands: ``change`` (several dates) and ``scenario`` (what-if)."""

from __future__ import annotations

from pathlib import Path

from landcarbon.cli._base import (
    handle_errors,
    log,
    main,
)
from landcarbon.cli._options import (
    config_argument,
    emit_result,
    json_option,
    out_option,
    overwrite_option,
    print_files,
    progress_default,
)


@main.command()
@config_argument
@out_option("./<config name>_change")
@overwrite_option
@json_option
@handle_errors
def change(config: Path, out: Path | None, overwrite: bool, as_json: bool) -> None:
    """Assess every [[change.dates]] land cover and what changed between them: transfer
    matrices, dynamic degrees, flux effects, carbon stocks ([change.stocks]), time series,
    the dynamic carbon risk of every unit (R2, R3, risk-level rise, carbon intensity, Tapio
    decoupling: the units entering risk and why), early-warning alerts and the Markov
    projection ([change.markov]).

    \b
    Example:
      landcarbon change data/sample_tiles/demo_change.toml -o out/change --overwrite
    """
    from landcarbon.config.run import load_config
    from landcarbon.pipeline import run_change

    cfg = load_config(config)
    result, out_dir, files = run_change(cfg, out or Path(f"{config.stem}_change"),
                                        overwrite=overwrite, progress=progress_default())
    totals = result.totals()
    s = result.suffix
    for y in result.years:
        t = totals["by_year"][str(y)]
        log.info("%d: net %.1f %s/yr, risk levels %s", y, t[f"net_{s}"],
                 cfg.coefficients.output_unit, t["risk_levels"])
    for period, d in totals["dynamic_risk"].items():
        log.info("%s: %d of %d unit(s) enter carbon risk %s", period,
                 d["units_entering_risk"], d["evaluated"], d["by_flag"])
    log.info("%d alert(s): %s", len(result.alerts), totals["alerts"])
    emit_result("change", out_dir, files, as_json=as_json,
                totals={**totals, "unit": cfg.coefficients.output_unit})


@main.command()
@config_argument
@out_option("./<config name>_scenario")
@overwrite_option
@handle_errors
def scenario(config: Path, out: Path | None, overwrite: bool) -> None:
    """Compare scenario land covers ([[change.scenarios]]) and rule-based edits of the
    baseline ([[change.edits]]) with the baseline date: per-unit deltas and risk-level
    transitions, on a map and in a report.

    \b
    Example:
      landcarbon scenario data/sample_tiles/demo_change.toml -o out/scenario --overwrite
    """
    from landcarbon.config.run import load_config
    from landcarbon.pipeline import run_scenarios

    cfg = load_config(config)
    result, out_dir, files = run_scenarios(cfg, out or Path(f"{config.stem}_scenario"),
                                           overwrite=overwrite, progress=progress_default())
    s = result.baseline.suffix
    for name, t in result.totals()["scenarios"].items():
        log.info("%s: net %+.1f %s/yr against the baseline", name, t[f"net_{s}_delta"],
                 cfg.coefficients.output_unit)
    print_files(out_dir, files)
