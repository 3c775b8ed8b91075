"""The import contract of the package (docs/design.md, "Layers"), read from the source with
``ast``: every import counts, at module level, inside functions and under ``TYPE_CHECKING``.

* io (file formats) imports no pipeline, publish or cli module;
* the compute subpackages (engine, accounting, zoning, change, checks, config) import no io,
  pipeline, publish or cli module;
* no import cycle between modules;
* at most 12 top-level modules and subpackages, and fewer than 40 names in ``__all__``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import landcarbon

PACKAGE = Path(landcarbon.__file__).parent
COMPUTE = {"engine", "accounting", "zoning", "change", "checks", "config"}
ABOVE_IO = {"pipeline", "publish", "cli"}


def _modules(root: Path = PACKAGE) -> dict[str, Path]:
    out = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """``module -> landcarbon modules it imports`` (``from pkg import name`` counts as
    importing ``pkg.name`` when that is a module) of the package in folder ``root``."""
    modules = _modules(root)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names if a.name.startswith("landcarbon")}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                if module.split(".")[0] != "landcarbon":
                    continue
                for alias in node.names:
                    sub = f"{module}.{alias.name}"
                    targets.add(sub if sub in modules else module)
        graph[name] = {t for t in targets if t != name and t in modules}
    return graph


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _violations(source_layers: set[str], forbidden: set[str],
                graph: dict[str, set[str]] | None = None) -> list[str]:
    graph = import_graph() if graph is None else graph
    return sorted(f"{a} -> {b}" for a, targets in graph.items()
                  if _layer(a) in source_layers for b in targets if _layer(b) in forbidden)


def test_io_imports_nothing_above_it() -> None:
    assert _violations({"io"}, ABOVE_IO) == []


def test_compute_imports_no_io_pipeline_publish_or_cli() -> None:
    assert _violations(COMPUTE, {"io"} | ABOVE_IO) == []


def test_layer_check_catches_compute_drawing_a_figure(tmp_path: Path) -> None:
    """The check reads a (fake) package whose zoning module draws a figure, as
    ``zoning/uncertainty.py`` once did: the function-local import, a relative one and one
    under ``TYPE_CHECKING`` are each reported."""
    root = tmp_path / "landcarbon"
    files = {
        "__init__.py": "",
        "zoning/__init__.py": "",
        "zoning/uncertainty.py": ("def sweep(t):\n"
                                  "    from landcarbon.publish.figures import sweep_figure\n"
                                  "    return sweep_figure(t)\n"),
        "zoning/hotspots.py": "from ..publish import figures\n",
        "zoning/quadrants.py": ("from typing import TYPE_CHECKING\n"
                                "if TYPE_CHECKING:\n"
                                "    from landcarbon.io.raster import open_landcover\n"),
        "zoning/indicators.py": "from landcarbon.zoning import quadrants\n",
        "publish/__init__.py": "",
        "publish/figures.py": "from landcarbon.zoning.uncertainty import sweep\n",
        "io/__init__.py": "",
        "io/raster.py": "",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    graph = import_graph(root)
    assert _violations(COMPUTE, {"io"} | ABOVE_IO, graph) == [
        "landcarbon.zoning.hotspots -> landcarbon.publish.figures",
        "landcarbon.zoning.quadrants -> landcarbon.io.raster",
        "landcarbon.zoning.uncertainty -> landcarbon.publish.figures",
    ]
    # publish -> zoning is allowed by the layers, but with zoning -> publish it is a cycle
    assert _cycles(graph) == [["landcarbon.publish.figures", "landcarbon.zoning.uncertainty"]]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles() -> None:
    assert _cycles(import_graph()) == []


def test_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_a_small_front_door() -> None:
    top = [p for p in PACKAGE.iterdir()
           if (p.suffix == ".py" and p.name != "__init__.py")
           or (p.is_dir() and (p / "__init__.py").is_file())]
    assert len(top) <= 12, sorted(p.name for p in top)
    assert len(landcarbon.__all__) < 40
    assert len(set(landcarbon.__all__)) == len(landcarbon.__all__)
    for name in landcarbon.__all__:
        assert getattr(landcarbon, name) is not None, name


def test_cli_import_is_light() -> None:
    """``import landcarbon.cli`` (every command's --help) loads no numeric or geo library."""
    import subprocess
    import sys

    code = ("import sys, landcarbon.cli; heavy = {'numpy', 'pandas', 'xarray', 'geopandas', "
            "'rasterio', 'pydantic', 'matplotlib'}; print(sorted(heavy & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=PACKAGE.parent)
    assert out.stdout.strip() == "[]"
