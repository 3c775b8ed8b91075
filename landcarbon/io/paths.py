"""Input paths: one message for a path that is not a readable file."""

from __future__ import annotations

import os
from pathlib import Path

from landcarbon.exceptions import InputError


def require_file(path: str | os.PathLike[str], what: str) -> Path:
    """Check that ``path`` names an existing, readable file.

    Parameters
    ----------
    path : str or path-like
        The path as the user gave it (relative paths already resolved against the config).
    what : str
        What the file is, for the message (e.g. ``"Land-cover raster"``).

    Returns
    -------
    pathlib.Path
        The path, when it is a readable file.

    Raises
    ------
    InputError
        ``code="file_missing"``, naming the real cause: nothing at that path, a folder
        instead of a file, or a file the user may not read.
    """
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{what} {str(path)!r} is a folder, not a file. Give the file inside "
                         "it (for rasters, a glob such as 'folder/*.tif' mosaics every tile).",
                         code="file_missing")
    if not p.is_file():
        raise InputError(f"{what} {str(path)!r} does not exist. Check the path (relative paths "
                         "in a config are relative to the config file; on the command line, to "
                         "the current folder).", code="file_missing")
    if not os.access(p, os.R_OK):
        raise InputError(f"{what} {str(path)!r} cannot be read (permission denied). Give your "
                         "user read access to it (chmod / file properties) or copy it to a "
                         "folder you own.", code="file_missing")
    return p
