"""Build hook: the wheel carries the synthetic sample of ``data/sample_tiles`` (the files
``landcarbon demo`` runs on) as package data in ``landcarbon/data/sample_tiles``, so that an
installed landcarbon runs its demo from any folder. The clone keeps one copy, in ``data/``
(MANIFEST.in puts it in the sdist too). Everything else is in pyproject.toml."""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SAMPLE = Path(__file__).resolve().parent / "data" / "sample_tiles"
#: What the demo reads (the generator script and its helpers stay in the clone).
SAMPLE_SUFFIXES = (".toml", ".tif", ".gpkg", ".csv")


class BuildWithSample(build_py):
    """``build_py`` that also copies the sample data into the built package."""

    def run(self) -> None:
        super().run()
        if self.editable_mode or not SAMPLE.is_dir():
            return  # an editable install reads data/sample_tiles of the clone itself
        target = Path(self.build_lib) / "landcarbon" / "data" / "sample_tiles"
        target.mkdir(parents=True, exist_ok=True)
        for f in sorted(SAMPLE.iterdir()):
            if f.suffix in SAMPLE_SUFFIXES:
                shutil.copy2(f, target / f.name)


setup(cmdclass={"build_py": BuildWithSample})
