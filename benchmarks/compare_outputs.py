"""Byte-identity check of a restructuring: run the sample commands from two checkouts and
compare what they wrote.

Usage::

    python benchmarks/compare_outputs.py produce CHECKOUT OUTDIR   # run the sample commands
    python benchmarks/compare_outputs.py compare OUTDIR_A OUTDIR_B # compare two productions

``produce`` runs, with ``PYTHONPATH=CHECKOUT`` (so the checkout's own package is used) and the
checkout's own ``data/sample_tiles``:

* ``demo``: ``landcarbon demo``;
* ``zoning``: ``landcarbon run demo_zoning.toml`` and ``landcarbon zone demo_zoning.toml``;
* ``change``: ``landcarbon change demo_change.toml``;
* ``scenario``: ``landcarbon scenario demo_change.toml``;
* the same commands with other output units (:data:`VARIANTS`): ``*_tco2`` with
  ``[coefficients] output_unit = "t CO2"``, ``*_display`` with ``output_unit = "t CO2"`` and
  ``[output] mass_scale = "wan_t"``, ``area_unit = "mu"``, ``*_tc_mu`` with t C in 亩
  (``mass_scale = "t"``, ``area_unit = "mu"``). Their configs are written, with a copy of the
  sample tiles, into ``OUTDIR/.data`` (so that both productions hash the same config).

``compare`` checks every file of both trees: tables (``.csv``), rasters (``.tif``), styles and
figures byte for byte; GeoPackages by their layers' rows (attributes and WKB geometry, exact:
a GPKG file carries its write time); JSON with time-like and duration keys and the output
hashes dropped (the files themselves are compared); JSON and HTML with date-times (and HTML
with embedded font subsets) blanked and the checkout's path (recorded in
``OUTDIR/.checkout``) read as ``<checkout>``. It exits 1 when a file differs or is missing on
one side.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

RUNS = {
    "demo": [["demo", "{out}"]],
    "zoning": [["run", "{data}/demo_zoning.toml", "-o", "{out}/run"],
               ["zone", "{data}/demo_zoning.toml", "-o", "{out}/zone"]],
    "change": [["change", "{data}/demo_change.toml", "-o", "{out}"]],
    "scenario": [["scenario", "{data}/demo_change.toml", "-o", "{out}"]],
}
#: variant runs: name -> (commands of RUNS, config file, output unit, [output] lines)
VARIANTS = {
    # no map: before 2026-12-05 the report of a t CO2 zoning run failed (KeyError carbon_tc)
    "zoning_tco2": ("zoning", "demo_zoning.toml", "t CO2", "map = false\n"),
    "zoning_display": ("zoning", "demo_zoning.toml", "t CO2",
                       'mass_scale = "wan_t"\narea_unit = "mu"\nmap = false\n'),
    "zoning_tc_mu": ("zoning", "demo_zoning.toml", "t C", 'mass_scale = "t"\narea_unit = "mu"\n'),
    "change_tco2": ("change", "demo_change.toml", "t CO2", ""),
    "change_display": ("change", "demo_change.toml", "t CO2",
                       'mass_scale = "wan_t"\narea_unit = "mu"\n'),
    "scenario_tco2": ("scenario", "demo_change.toml", "t CO2", ""),
    "scenario_display": ("scenario", "demo_change.toml", "t CO2",
                         'mass_scale = "wan_t"\narea_unit = "mu"\n'),
}
_TIME_KEY = re.compile(r"(time|date|created|generated|started|finished|seconds|elapsed|duration"
                       r"|_s$|timestamp|outputs_sha256)", re.I)
#: embedded font subsets (fontTools stamps the subset's creation time into its head table), as
#: a data: URL or decoded by a script (``atob("...")`` -> ``new FontFace``)
_FONT = re.compile(r"data:font/[\w+-]+;base64,[A-Za-z0-9+/=]+|atob\(\"[A-Za-z0-9+/=]+\"\)")
_DATETIME = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?([+-]\d\d:?\d\d|Z)?")


def _variant_config(src: Path, dest: Path, unit: str, output: str) -> None:
    """Write ``src`` with ``output_unit = unit`` and an ``[output]`` section to ``dest``."""
    lines = [ln for ln in src.read_text("utf-8").splitlines()
             if not ln.startswith("output_unit")]
    at = lines.index("[coefficients]") + 1
    lines.insert(at, f'output_unit = "{unit}"')
    text = "\n".join(lines) + "\n"
    if output:
        text += "\n[output]\n" + output
    dest.write_text(text, encoding="utf-8")


def produce(checkout: Path, out: Path) -> None:
    """Run every sample command of :data:`RUNS` and :data:`VARIANTS` from ``checkout`` into
    ``out/<name>``."""
    checkout = checkout.resolve()
    out = out.resolve()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / ".checkout").write_text(str(checkout), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(checkout), "PYTHONHASHSEED": "0"}
    data = checkout / "data" / "sample_tiles"
    copy = out / ".data"
    shutil.copytree(data, copy)
    jobs = [(name, commands, data) for name, commands in RUNS.items()]
    for name, (runs, config, unit, output) in VARIANTS.items():
        _variant_config(data / config, copy / f"{name}.toml", unit, output)
        commands = [[a.replace(config, f"{name}.toml") for a in args] for args in RUNS[runs]]
        jobs.append((name, commands, copy))
    for name, commands, folder in jobs:
        target = out / name
        for args in commands:
            argv = [a.format(out=target, data=folder) for a in args]
            proc = subprocess.run([sys.executable, "-m", "landcarbon.cli", "-q", *argv],
                                  cwd=out, env=env, capture_output=True, text=True)
            if proc.returncode:
                raise SystemExit(f"{name}: landcarbon {' '.join(argv)} failed:\n{proc.stderr}")
        print(f"{name}: {sum(1 for p in target.rglob('*') if p.is_file())} files")


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items() if not _TIME_KEY.search(str(k))}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, str):
        return _DATETIME.sub("<time>", value)
    return value


def _gpkg_rows(path: Path) -> dict[str, Any]:
    import pyogrio

    layers = {}
    for layer, _ in pyogrio.list_layers(path):
        meta = pyogrio.read_info(path, layer=layer)
        table = pyogrio.read_dataframe(path, layer=layer, read_geometry=True)
        geom = table.geometry.to_wkb().tolist() if "geometry" in table else None
        attrs = table.drop(columns="geometry", errors="ignore")
        layers[layer] = (str(meta["crs"]), list(meta["fields"]), list(meta["dtypes"]),
                         attrs.to_csv(index=False, float_format=repr), geom)
    return layers


def _text(path: Path, root: Path) -> str:
    checkout = root / ".checkout"
    text = path.read_text("utf-8").replace(str(root.resolve()), "<out>")
    if checkout.is_file():
        text = text.replace(checkout.read_text("utf-8"), "<checkout>")
    return text


def same(a: Path, b: Path, root_a: Path, root_b: Path) -> bool:
    """Whether two output files hold the same content (see the module docstring)."""
    suffix = a.suffix.lower()
    if suffix == ".gpkg":
        return _gpkg_rows(a) == _gpkg_rows(b)
    if suffix == ".json":
        return (_scrub(json.loads(_text(a, root_a)))
                == _scrub(json.loads(_text(b, root_b))))
    if suffix in {".html", ".md", ".txt"}:
        return (_DATETIME.sub("", _FONT.sub("", _text(a, root_a)))
                == _DATETIME.sub("", _FONT.sub("", _text(b, root_b))))
    return a.read_bytes() == b.read_bytes()


def _outputs(root: Path) -> set[Path]:
    """The files a production wrote (not its ``.checkout`` record or ``.data`` copy)."""
    return {p.relative_to(root) for p in root.rglob("*")
            if p.is_file() and p.name != ".checkout" and p.relative_to(root).parts[0] != ".data"}


def compare(a: Path, b: Path) -> int:
    """Compare two productions file by file; print a summary and return the exit code."""
    files_a = _outputs(a)
    files_b = _outputs(b)
    bad = 0
    for rel in sorted(files_a ^ files_b):
        print(f"only in {'A' if rel in files_a else 'B'}: {rel}")
        bad += 1
    counts: dict[str, int] = {}
    for rel in sorted(files_a & files_b):
        if not same(a / rel, b / rel, a, b):
            print(f"differs: {rel}")
            bad += 1
        else:
            counts[rel.suffix or rel.name] = counts.get(rel.suffix or rel.name, 0) + 1
    print("identical: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    print(f"{len(files_a & files_b)} files compared, {bad} differ or missing")
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in {"produce", "compare"}:
        raise SystemExit(__doc__)
    if sys.argv[1] == "produce":
        produce(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        sys.exit(compare(Path(sys.argv[2]), Path(sys.argv[3])))
