"""Every notebook in notebooks/ runs top to bottom (a broken cell fails the build), and none
is committed with outputs."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
KERNEL = "landcarbon-tests"


def test_there_are_notebooks():
    names = [p.name for p in NOTEBOOKS]
    assert names[:3] == ["01_quickstart.ipynb", "02_zoning_study.ipynb",
                         "03_change_and_scenarios.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    dirty = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
             and (c.get("outputs") or c.get("execution_count") is not None)]
    assert dirty == [], (f"{path.name}: cells {dirty} have outputs; clear them before "
                         "committing (Jupyter: Edit > Clear outputs of all cells)")
    widgets = nb.get("metadata", {}).get("widgets")
    assert not widgets, f"{path.name}: widget state in the metadata; clear it"


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory):
    """A kernel spec that runs *this* interpreter (the venv's python), found first."""
    pytest.importorskip("ipykernel")
    base = tmp_path_factory.mktemp("jupyter")
    spec_dir = base / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "landcarbon tests", "language": "python"}), encoding="utf-8")
    return base


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom(path, kernel_env, monkeypatch, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("JUPYTER_PATH", str(kernel_env))
    monkeypatch.setenv("TMPDIR", str(tmp_path))        # notebooks write their outputs there
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, kernel_name=KERNEL, timeout=300,
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()     # raises CellExecutionError naming the cell and the traceback
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
    # the story is told with maps and charts: at least one figure or HTML map was produced
    rich = [o for c in nb.cells for o in c.get("outputs", [])
            if {"image/png", "text/html"} & set(o.get("data", {}))]
    assert rich, f"{path.name} shows no chart or map"
    assert os.environ["TMPDIR"] == str(tmp_path)
