"""The run's figures drawn in a second process (issue 16): the same PNG bytes as drawn in
this process, a dead worker falls back to drawing here, only figure functions run there."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import box

from landcarbon.pipeline import figure_worker


@pytest.fixture(scope="module")
def jobs() -> dict[str, tuple[str, tuple, dict]]:
    units = gpd.GeoDataFrame(
        {"unit_id": ["1", "2"], "unit_name": ["金水街道", "龙湖镇"],
         "risk_level": ["severe", "net_sink"], "space_type": ["construction", "ecological"],
         "emission_tc": [120.0, 5.0], "sequestration_tc": [10.0, 40.0],
         "net_tc_per_ha": [1.1, -0.35], "threshold_tc_per_ha": [0.5, 0.0]},
        geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000)], crs=32649)
    return {"maps": ("static_maps", (units, ("risk_level", "space_type")),
                     {"language": "zh", "title": "测试", "source": "s"}),
            "bars": ("balance_by_space_type", (units, "tc"), {"language": "en"}),
            "dots": ("net_vs_threshold", (units, "tc"), {"language": "zh"})}


def test_worker_draws_what_this_process_draws(jobs: dict) -> None:
    here = figure_worker.Pending(jobs, None).result()  # no worker: drawn in this process
    proc = figure_worker.start_worker()
    assert proc is not None
    there = figure_worker.Pending(jobs, proc).result()
    assert proc.wait(timeout=60) == 0
    assert set(there) == {"maps", "bars", "dots"}
    assert there == here  # byte for byte
    assert there["maps"]["risk_level"][:8] == b"\x89PNG\r\n\x1a\n"


def test_a_dead_worker_falls_back_to_this_process(jobs: dict) -> None:
    proc = figure_worker.start_worker()
    assert proc is not None
    proc.kill()
    proc.wait(timeout=60)
    drawn = figure_worker.Pending(jobs, proc).result()
    assert drawn == figure_worker.Pending(jobs, None).result()


def test_prestarted_worker_is_used_once_and_unused_ones_stop(jobs: dict) -> None:
    with figure_worker.prestarted(wanted=False):
        assert figure_worker._idle == []
    figure_worker._idle.append(proc := figure_worker.start_worker())
    try:
        pending = figure_worker.draw({"bars": jobs["bars"]})
        assert figure_worker._idle == []  # taken by this draw
        assert set(pending.result()) == {"bars"}
    finally:
        figure_worker._idle.clear()
    assert proc is not None and proc.wait(timeout=60) == 0


def test_only_figure_functions_run_there() -> None:
    with pytest.raises(ValueError, match="not a figure job"):
        figure_worker.draw({"x": ("write_publication", (), {})})


def test_arguments_that_cannot_travel_are_drawn_here(jobs: dict) -> None:
    """A job argument pickle refuses (an instance of a class local to this function) never
    reaches the worker, which is stopped; the figures come from this process."""

    class Local(str):
        pass

    units = jobs["dots"][1][0]
    proc = figure_worker.start_worker()
    assert proc is not None
    pending = figure_worker.Pending({"dots": ("net_vs_threshold", (units, "tc"),
                                              {"language": "zh", "unit": Local("t C")})}, proc)
    assert proc.poll() is not None  # stopped at once
    plain = figure_worker.Pending({"dots": ("net_vs_threshold", (units, "tc"),
                                            {"language": "zh", "unit": "t C"})}, None)
    assert pending.result() == plain.result()


def test_a_share_drawn_here_while_the_worker_draws_the_rest(jobs: dict) -> None:
    """``here``: those jobs are drawn by this process at ``result()``, the others by the
    worker; the same bytes as all drawn here. A dead worker's share is drawn here."""
    plain = figure_worker.Pending(jobs, None).result()
    proc = figure_worker.start_worker()
    assert proc is not None
    pending = figure_worker.Pending(jobs, proc, here=["bars", "dots"])
    assert set(pending.here) == {"bars", "dots"}
    assert pending.result() == plain
    assert proc.wait(timeout=60) == 0  # the worker ended at once after answering
    dead = figure_worker.start_worker()
    assert dead is not None
    dead.kill()
    dead.wait(timeout=60)
    assert figure_worker.Pending(jobs, dead, here=["bars"]).result() == plain


def test_second_core_free_counts_the_tasks_running_now(tmp_path) -> None:
    """The decision reads the runnable tasks of ``/proc/loadavg`` (not the 1-minute
    average, which still carries runs that just ended)."""
    import os

    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one core: never a worker")
    path = tmp_path / "loadavg"
    path.write_text("3.50 2.10 1.00 1/230 4242\n")  # busy a minute ago, only us now
    assert figure_worker._others_running(str(path)) == 0
    assert figure_worker.second_core_free(str(path))
    cores = len(os.sched_getaffinity(0))
    path.write_text(f"0.10 0.10 0.10 {cores + 1}/230 4242\n")  # every core taken now
    assert not figure_worker.second_core_free(str(path))
    assert figure_worker._others_running(str(tmp_path / "none")) >= 0  # no /proc: average


def test_shares_drawn_by_a_worker_each(jobs: dict) -> None:
    """``shares``: each to a worker of its own, the same bytes as drawn here; a share no
    worker takes and the keys of no share are drawn here; a dead worker's share too; a
    worker given nothing to draw is stopped."""
    plain = figure_worker.Pending(jobs, None).result()
    procs = [figure_worker.start_worker(), figure_worker.start_worker()]
    assert None not in procs
    pending = figure_worker.Pending(jobs, procs, shares=[["maps"], ["bars"]])
    assert set(pending.here) == {"dots"}  # in no share
    assert pending.result() == plain
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    # one worker for two shares: the second share is drawn here
    one = figure_worker.start_worker()
    pending = figure_worker.Pending(jobs, [one], shares=[["maps"], ["bars", "dots"]])
    assert set(pending.here) == {"bars", "dots"}
    assert pending.result() == plain
    # a dead worker: its share drawn here; a worker without a share: stopped at once
    dead, spare = figure_worker.start_worker(), figure_worker.start_worker()
    assert dead is not None and spare is not None
    dead.kill()
    dead.wait(timeout=60)
    pending = figure_worker.Pending(jobs, [dead, spare], shares=[["maps", "bars", "dots"]])
    assert spare.poll() is not None  # nothing to draw: stopped
    assert pending.result() == plain


def test_draw_takes_one_idle_worker_a_share(jobs: dict) -> None:
    procs = [figure_worker.start_worker() for _ in range(3)]
    figure_worker._idle.extend(procs)
    try:
        pending = figure_worker.draw(jobs, shares=[["maps"], ["bars", "dots"]])
        assert len(figure_worker._idle) == 1  # two taken, one left for another draw
        assert pending.here == {}
        assert set(pending.result()) == {"maps", "bars", "dots"}
    finally:
        left = list(figure_worker._idle)
        figure_worker._idle.clear()
        for p in left:
            p.kill()
            p.wait(timeout=60)
    with figure_worker.prestarted(wanted=True, workers=0):
        assert figure_worker._idle == []
