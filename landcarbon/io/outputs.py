"""Safe output folders and the run manifest.

A run writes into a hidden staging folder beside the target and renames it into place only
when everything is written, so an interrupted or failed run never leaves a folder that looks
complete. An existing target is replaced only with ``overwrite=True``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from landcarbon.exceptions import OutputExistsError

__all__ = ["sha256", "staged_output_dir", "write_json"]


@contextlib.contextmanager
def staged_output_dir(target: str | os.PathLike[str], *, overwrite: bool = False
                      ) -> Iterator[Path]:
    """Yield a staging folder that becomes ``target`` when the block ends without error.

    Raises
    ------
    OutputExistsError
        If ``target`` exists and is not empty and ``overwrite`` is false.
    """
    target = Path(target).absolute()
    if target.exists() and not target.is_dir():
        raise OutputExistsError(f"Output {target} exists and is a file; give a folder path.")
    if target.exists() and any(target.iterdir()) and not overwrite:
        raise OutputExistsError(
            f"Output folder {target} already exists and is not empty. Choose another folder "
            "with -o, or pass --overwrite to replace it."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    stage = target.parent / f".{target.name}.partial-{os.getpid()}"
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir()
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    old = target.parent / f".{target.name}.old-{os.getpid()}"
    if target.exists():
        target.rename(old)
    stage.rename(target)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


def sha256(path: str | os.PathLike[str], chunk: int = 1 << 22) -> str:
    """SHA-256 of a file (streamed)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def write_json(data: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Write JSON (UTF-8, sorted keys, indented) atomically."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True, default=str)
                   + "\n", encoding="utf-8")
    os.replace(tmp, path)
