"""What landcarbon wrote, so that it never replaces or deletes anything else.

Every folder landcarbon writes (a run, zoning, change, scenario, sweep, batch folder) holds a
small marker file, :data:`MARKER`, listing the entries it wrote. A folder without one is not
landcarbon's, whatever it holds: a run's manifest copied into a folder of one's own (or a
folder whose marker was removed) never makes the files there replaceable.

An existing output folder may be replaced (``--overwrite``) only if

* it is a real folder (not a symbolic link, not a file);
* it does not equal, nor contain, any input of the run (config file, rasters, units, tables);
* every entry in it was written by landcarbon (listed in its marker, or a sub-folder that
  is itself landcarbon's and listed too, or the ``zoning`` that ``zone RUN`` writes into a
  run); a ``notes.txt`` added by hand, or another run written inside it, is enough to
  refuse.

A single file (``index.html`` of a portal, ``summary.csv`` of a batch) is replaced only if
landcarbon wrote it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from landcarbon._resources import package_version
from landcarbon.config.outputs import MARKER
from landcarbon.exceptions import OutputExistsError, UnsafeOutputError

__all__ = ["MARKER", "check_file_replaceable", "check_inputs_outside", "check_no_links",
           "check_replaceable",
           "foreign_entries",
           "is_landcarbon_file", "mark_folder", "output_kind", "record_entries"]

#: signature of landcarbon's single-file outputs (HTML generator tag, batch summary header)
_SIGNATURES = {".html": (b'name="generator" content="landcarbon',),
               ".csv": (b"run,status,seconds", b"\xef\xbb\xbfrun,status,seconds")}


_LEFTOVER = re.compile(r"^\..+\.((partial|old)-\d+(\.\w+)?|lock)$")


def _leftover(name: str, path: str | os.PathLike[str]) -> bool:
    """Hidden staging and lock files of landcarbon's own writers (``path``: the entry; a
    lock file only if it holds what landcarbon's lock files hold, or nothing)."""
    if name == f"{MARKER}.tmp":
        return True
    match = _LEFTOVER.match(name)
    if match is None:
        return False
    if match.group(1) != "lock":
        return True
    from landcarbon.io.locks import is_lock_text

    try:
        with open(path, "rb") as fh:
            return is_lock_text(fh.read(4096))
    except OSError:
        return False


def mark_folder(folder: str | os.PathLike[str], kind: str,
                entries: Iterable[str] | None = None, files: Iterable[str] | None = None
                ) -> None:
    """Write :data:`MARKER` into ``folder``: ``kind``, its entries (default: everything in
    it now) and the files and folders inside the entries that are folders without a marker
    of their own (``figures/risk.png``; default: everything there now, for a folder all of
    whose content landcarbon has just written or checked)."""
    folder = Path(folder)
    names = sorted(set(entries) if entries is not None else
                   {e for e in os.listdir(folder) if e != MARKER and not _leftover(e, folder / e)})
    inside = set(files) if files is not None else {
        p for name in names if (folder / name).is_dir() and not (folder / name).is_symlink()
        and _marker(folder / name) is None for p in _tree(folder, name)}
    data = {"landcarbon_output": kind, "landcarbon_version": package_version(), "entries": names,
            "files": sorted(inside)}
    tmp = folder / f"{MARKER}.tmp"
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, folder / MARKER)


def _tree(folder: Path, name: str) -> set[str]:
    """The paths (relative to ``folder``, ``/``-separated) of everything inside
    ``folder / name``, sub-folders included."""
    out: set[str] = set()
    for root, dirs, found in os.walk(folder / name):
        rel = Path(root).relative_to(folder).as_posix()
        out |= {f"{rel}/{n}" for n in [*dirs, *found]}
    return out


def record_entries(folder: str | os.PathLike[str], names: Iterable[str],
                   kind: str = "run") -> None:
    """Add ``names`` (paths relative to ``folder`` just written, e.g. ``map.html``,
    ``figures/risk.png``) to the marker of ``folder``."""
    folder = Path(folder)
    listed = _marker(folder) or set()
    written = [Path(n) for n in names if n]
    nested = {p.as_posix() for p in written if len(p.parts) > 1}
    nested |= {Path(*p.parts[:k]).as_posix() for p in written for k in range(2, len(p.parts))}
    mark_folder(folder, _marker_kind(folder) or kind, listed | {p.parts[0] for p in written},
                files=(_marker_files(folder) or set()) | nested)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _marker(folder: Path) -> set[str] | None:
    data = _read_json(folder / MARKER)
    if isinstance(data, dict) and isinstance(data.get("entries"), list):
        return {str(e) for e in data["entries"]}
    return None


def _marker_files(folder: Path) -> set[str] | None:
    """The files and folders inside ``folder``'s listed sub-folders that its marker names,
    or None for a marker written before it named them (or no marker)."""
    data = _read_json(folder / MARKER)
    if isinstance(data, dict) and isinstance(data.get("files"), list):
        return {str(e) for e in data["files"]}
    return None


def output_kind(folder: str | os.PathLike[str]) -> str | None:
    """The kind of landcarbon output ``folder`` is (``run``, ``change``, ``batch``...), from
    its marker; None if it has none."""
    return _marker_kind(Path(folder))


def _marker_kind(folder: Path) -> str | None:
    data = _read_json(folder / MARKER)
    return data.get("landcarbon_output") if isinstance(data, dict) else None


#: sub-folders another command writes into a folder of this kind by default (``zone RUN``
#: writes ``RUN/zoning``): replaced with it though its marker does not list them (a batch
#: folder's runs are all its own)
_DERIVED = {"run": {"zoning"}}


def foreign_entries(folder: str | os.PathLike[str]) -> list[str] | None:
    """Entries of ``folder`` that landcarbon did not write (sorted), or None if ``folder``
    itself is not a landcarbon output at all."""
    folder = Path(folder)
    listed = _marker(folder)
    if listed is None:
        return None
    files = _marker_files(folder)
    foreign = []
    with os.scandir(folder) as it:
        for entry in it:
            name = entry.name
            if name == MARKER or _leftover(name, entry.path):
                continue
            if entry.is_symlink():
                foreign.append(name)
            elif entry.is_dir():
                # a listed sub-folder (figures): everything in it listed too (a marker of
                # an older version lists no files: its sub-folders are taken as they are)
                if name in listed and _marker(Path(entry.path)) is None:
                    if files is not None:
                        foreign += sorted(p for p in _tree(folder, name) if p not in files
                                          and not _leftover(Path(p).name, folder / p))
                    continue
                # a folder landcarbon wrote with its own marker: the folder's own entries
                # (batch runs) and the derived outputs of its kind (a run's zoning); any other
                # output kept inside it (a run written to -o run/nested) is not replaced
                kind = _marker_kind(folder) or ""
                own = name in listed or name in _DERIVED.get(kind, ()) or kind == "batch"
                if not own or foreign_entries(entry.path) != []:
                    foreign.append(name)
            elif name not in listed:
                foreign.append(name)
    return sorted(foreign)


def check_no_links(folder: str | os.PathLike[str], *names: str) -> None:
    """Before writing ``names`` (paths relative to ``folder``, ``figures/a.png``) into a
    folder that already exists (``landcarbon map``, the portal): none of them, nor a folder on
    the way, may be a symbolic link (a write would follow it into files landcarbon did not
    write, or replace the user's link), and a folder on the way must be a folder.

    Raises
    ------
    UnsafeOutputError
        Naming the link and what to do.
    """
    folder = Path(folder)
    for name in names:
        parts = Path(name).parts
        for i in range(1, len(parts) + 1):
            path = folder.joinpath(*parts[:i])
            link = path.is_symlink()
            if link or (i < len(parts) and path.exists() and not path.is_dir()):
                what = "a symbolic link" if link else "not a folder"
                raise UnsafeOutputError(
                    f"{path} is {what}: landcarbon writes {folder / name} there and never "
                    "writes through links nor replaces what it did not write. Remove or "
                    "rename it (a copy of the run folder without links works), then run "
                    "again.")


def is_landcarbon_file(path: str | os.PathLike[str]) -> bool:
    """True if the file ``path`` carries landcarbon's signature (generator tag of its HTML
    pages, header of a batch ``summary.csv``) or its folder's marker lists it."""
    path = Path(path)
    listed = _marker(path.parent)
    if listed is not None and path.name in listed:
        return True
    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 20)
    except OSError:
        return False
    return any(sig in head for sig in _SIGNATURES.get(path.suffix.lower(), ()))


def _show(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def check_inputs_outside(target: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]]
                         ) -> None:
    """Refuse an output location that equals or contains an input of the run.

    Raises
    ------
    UnsafeOutputError
        Naming the input and the folder.
    """
    real = Path(os.path.realpath(target))
    files: list[str] = []
    folders: list[str] = []
    for item in inputs:
        if not item:
            continue
        p = Path(os.path.realpath(item))
        if p == real or real in p.parents:
            (folders if p.is_dir() else files).append(str(item))
    if files or folders:
        named = sorted(files)[:3] + [f"{f} (the folder of the config file)"
                                     for f in sorted(folders)[:1]]
        more = len(files) + len(folders) - len(named)
        raise UnsafeOutputError(
            f"Output {target} {'is' if not files else 'contains'} an input of this run: "
            f"{', '.join(named)}{f' and {more} more' if more > 0 else ''}. landcarbon never "
            "replaces or deletes its inputs, even with --overwrite. Choose an output folder "
            "(-o) outside the folders of the inputs, e.g. a new sub-folder such as out/.")


def check_replaceable(target: str | os.PathLike[str], *, overwrite: bool = False,
                      inputs: Iterable[str | os.PathLike[str]] = (), why: str = "") -> None:
    """Refuse an output folder that must not be (re)written; see the module docstring.

    A missing or empty folder is always fine. A non-empty one needs ``overwrite`` and must
    be entirely landcarbon's and hold no input.

    Raises
    ------
    UnsafeOutputError
        The folder holds inputs or entries landcarbon did not write, or is a link or a file.
    OutputExistsError
        It is landcarbon's and not empty, and ``overwrite`` is false.
    """
    target = Path(target)
    if target.is_symlink():
        raise UnsafeOutputError(
            f"Output {target} is a symbolic link (to {os.readlink(target)}); landcarbon does "
            "not replace links or what they point to. Give the real folder with -o, or a new "
            "folder.")
    if not target.exists():
        return
    if not target.is_dir():
        raise UnsafeOutputError(
            f"Output {target} exists and is a file; landcarbon never replaces a file it did "
            "not write. Give a folder path with -o.")
    if not any(target.iterdir()):
        return
    check_inputs_outside(target, inputs)
    try:
        here = Path.cwd().resolve()
    except OSError:  # the working folder was removed
        here = None
    if here is not None and here.is_relative_to(target.resolve()):
        raise UnsafeOutputError(
            f"Output folder {target} is the folder this command runs in (or holds it): "
            "replacing it would pull the folder from under the shell. Run the command from "
            "another folder (cd ..), or choose another folder with -o.")
    foreign = foreign_entries(target)
    if foreign is None:
        names = sorted(os.listdir(target))
        raise UnsafeOutputError(
            f"Output folder {target} is not empty ({_show(names)}) and was not written by "
            f"landcarbon (it has no landcarbon marker, {MARKER}); landcarbon never replaces or "
            "deletes a folder it did not write, even with --overwrite. Choose a new or empty "
            "folder with -o.")
    if foreign:
        raise UnsafeOutputError(
            f"Output folder {target} was written by landcarbon but now also holds "
            f"{_show(foreign)}, which landcarbon did not write; it will not delete them, even "
            "with --overwrite. Move them elsewhere, or choose another folder with -o.")
    if not overwrite:
        raise OutputExistsError(
            f"Output folder {target} already exists and is not empty{why}. Choose another "
            "folder with -o, or pass --overwrite to replace it.")


def check_file_replaceable(path: str | os.PathLike[str]) -> None:
    """Refuse to replace a file landcarbon did not write (or a link, or a folder).

    Raises
    ------
    UnsafeOutputError
        Naming the file and how to proceed.
    """
    path = Path(path)
    if not (path.exists() or path.is_symlink()):
        return
    if path.is_symlink() or not path.is_file() or not is_landcarbon_file(path):
        raise UnsafeOutputError(
            f"{path} exists and was not written by landcarbon; it is never replaced. Rename "
            "or move it, then run again.")
