"""Fingerprint of a run: what its outputs depend on, so that a finished run is not redone.

The fingerprint holds the landcarbon version, the SHA-256 of the resolved configuration
(every setting, defaults included, without the config file's folder) and the SHA-256 of
every input file the configuration names (any string value of any section that is an
existing file, land-cover globs expanded, custom legend and coefficient CSVs included).
Remote inputs (URLs, ``/vsi...`` paths) cannot be checksummed without downloading them,
so a run that reads any is never considered up to date.
It is stored in ``run.json`` under ``fingerprint``. Within :func:`one_hash_per_input` (a whole
``run``) each input file is read and hashed once: the fingerprint and the manifest's
``inputs_sha256`` share the digest (:func:`input_sha256`). Running again into a finished output
folder whose fingerprint is identical reports "up to date" and recomputes nothing; any
changed byte of an input or any changed setting makes the run refuse to overwrite the folder
without ``--overwrite``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

from landcarbon._resources import package_version
from landcarbon.io.outputs import sha256

if TYPE_CHECKING:
    from landcarbon.config.run import RunConfig

__all__ = ["input_files", "input_sha256", "one_hash_per_input", "protected_inputs",
           "run_fingerprint", "stamp_manifest", "up_to_date"]

#: digests of the input files hashed in the current run: (absolute path, size, mtime in ns)
#: -> SHA-256; None outside :func:`one_hash_per_input`
_DIGESTS: ContextVar[dict[tuple[str, int, int], str] | None] = ContextVar(
    "landcarbon_input_digests", default=None)


@contextlib.contextmanager
def one_hash_per_input() -> Iterator[None]:
    """Within the block, :func:`input_sha256` hashes each file once: a later request for the
    same file (same absolute path, size and modification time) reuses its digest. Nested
    blocks share the outer block's digests; nothing is kept after the outermost block (a
    file changed between two runs is always hashed again)."""
    if _DIGESTS.get() is not None:
        yield
        return
    token = _DIGESTS.set({})
    try:
        yield
    finally:
        _DIGESTS.reset(token)


def input_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of an input file; inside :func:`one_hash_per_input` computed once per file."""
    digests = _DIGESTS.get()
    if digests is None:
        return sha256(path)
    st = os.stat(path)
    key = (os.path.abspath(path), st.st_size, st.st_mtime_ns)
    if key not in digests:
        digests[key] = sha256(path)
    return digests[key]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def input_files(config: RunConfig) -> list[str]:
    """Every local input file named by ``config`` (absolute paths, sorted, unique)."""
    from landcarbon.io.raster import expand_paths

    data = config.model_dump(mode="json")
    data.pop("base_dir", None)
    found: set[str] = set()
    for text in _strings(data):
        local = _local_name(text) if text and "\n" not in text else None
        if local is None:
            continue
        path = config.path(local)
        if any(ch in text for ch in "*?["):
            try:
                found.update(os.path.abspath(p) for p in expand_paths(path))
            except Exception:  # a pattern matching nothing is reported by the run itself
                continue
        elif len(path) < 4096 and _is_file(path):
            found.add(os.path.abspath(path))
    return sorted(found)


#: GDAL's virtual file systems that read a local file (an archive or a compressed file)
_VSI_LOCAL = ("vsizip", "vsitar", "vsigzip", "vsi7z", "vsirar", "vsisubfile", "vsicached",
              "vsisparse", "vsicrypt")


def _local_name(text: str) -> str | None:
    """The local path a config string names: itself, the path of a ``file://`` URL, or the
    archive a GDAL ``/vsizip/`` (``/vsitar/``, ``/vsigzip/``...) path reads; None for data
    elsewhere (``https://``, ``/vsicurl/``, ``/vsis3/``...)."""
    if text.lower().startswith("file://"):
        from urllib.parse import unquote, urlparse

        parsed = urlparse(text)
        return unquote(parsed.path) if parsed.netloc in ("", "localhost") else None
    if "://" in text:
        return None
    if not text.startswith("/vsi"):
        return text
    handler, _, rest = text[1:].partition("/")
    if handler not in _VSI_LOCAL or not rest:
        return None
    if rest.startswith("/vsi"):  # a chain: /vsizip//vsicurl/https://...
        return _local_name(rest)
    parts = rest.split("/")
    for end in range(len(parts), 0, -1):  # the archive: the longest prefix that is a file
        candidate = "/".join(parts[:end])
        if candidate and _is_file(candidate):
            return os.path.abspath(candidate)  # GDAL reads it from the working folder
    return None


def _is_file(path: str) -> bool:
    """Whether ``path`` is a file; a text that cannot be a path (a title with a name over
    255 bytes, a folder without access on the way) is not."""
    try:
        return Path(path).is_file()
    except OSError:
        return False


def protected_inputs(config: RunConfig) -> list[str]:
    """What an output folder may never equal or contain: every input file of ``config`` and
    the folder of its config file."""
    return [*input_files(config), *([config.base_dir] if config.base_dir else [])]


def run_fingerprint(config: RunConfig) -> dict[str, Any]:
    """Version, config hash and input hashes of a run (see the module docstring)."""
    data = config.model_dump(mode="json")
    data.pop("base_dir", None)
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    remote = sorted({t for t in _strings(data) if "://" in t or t.startswith("/vsi")})
    return {
        "landcarbon_version": package_version(),
        "config_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "inputs_sha256": {p: input_sha256(p) for p in input_files(config)},
        "remote_inputs": remote,
    }


def up_to_date(out_dir: str | os.PathLike[str], fingerprint: dict[str, Any], *,
               manifest: str) -> dict[str, str] | None:
    """``{role: file name}`` of the finished run in ``out_dir`` if its stored fingerprint
    equals ``fingerprint`` and every output still has the SHA-256 recorded in its
    ``manifest`` (``run.json``); otherwise None."""
    path = Path(out_dir) / manifest
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("fingerprint") != fingerprint:
        return None
    if fingerprint.get("remote_inputs"):  # URLs cannot be checksummed cheaply: always redo
        return None
    outputs = data.get("outputs_sha256") or {}
    for name, digest in outputs.items():
        file = Path(out_dir) / name
        if not file.is_file() or sha256(file) != digest:
            return None
    files = data.get("files")
    return dict(files) if isinstance(files, dict) else {n: n for n in outputs}


def stamp_manifest(folder: str | os.PathLike[str], fingerprint: dict[str, Any],
                   files: dict[str, str], *, manifest: str) -> None:
    """Add ``fingerprint`` and the ``files`` map (role -> name) to ``folder/<manifest>``."""
    from landcarbon.io.outputs import write_json

    path = Path(folder) / manifest
    data = json.loads(path.read_text(encoding="utf-8"))
    data["fingerprint"] = fingerprint
    data["files"] = files
    write_json(data, path)
