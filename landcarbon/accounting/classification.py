"""Classification of land-cover codes into categories, land classes and space types.

All functions take and return DataArrays, keep coordinates and georeferencing, and work on
numpy- and dask-backed arrays alike (dask arrays stay lazy).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
import pandas as pd
import xarray as xr

from landcarbon.accounting.legends import NODATA_CATEGORY, SPACE_TYPES, Legend, land_classes
from landcarbon.exceptions import UnmappedCodesError

__all__ = [
    "byte_category_table",
    "check_codes",
    "classify",
    "code_counts",
    "code_text",
    "land_class_raster",
    "space_type_raster",
]


def is_dask(da: xr.DataArray) -> bool:
    """Whether ``da`` is dask-backed (lazy)."""
    return type(da.data).__module__.startswith("dask")


def _valid_mask(block: np.ndarray, nodata: float | None) -> np.ndarray:
    mask = np.ones(block.shape, dtype=bool)
    if np.issubdtype(block.dtype, np.floating):  # NaN is nodata; +-inf is a code (refused)
        mask &= ~np.isnan(block)
    if nodata is not None and not (isinstance(nodata, float) and np.isnan(nodata)):
        mask &= block != nodata
    return mask


def uniform_value(block: np.ndarray) -> np.generic | None:
    """The single value of a block that holds only one (sea, nodata fill, a constant
    broadcast block), else None: two fast reductions, no per-pixel temporary."""
    if block.size < 2 or block.dtype.kind not in "uif":
        return None
    if all(st == 0 for st in block.strides):  # a broadcast scalar (from uniform_block)
        return block.flat[0]
    if block.dtype.kind in "ui":  # nine cells across the block first: mixed land ends here
        probe = block.flat[np.linspace(0, block.size - 1, 9).astype(np.intp)]
        if (probe != probe[0]).any():
            return None
    low = block.min()
    if low == block.max() and not (block.dtype.kind == "f" and np.isnan(low)):
        return low
    if block.dtype.kind == "f" and np.isnan(block.flat[0]) and np.isnan(block).all():
        return block.flat[0]
    return None


def uniform_block(value: object, shape: tuple[int, ...], dtype: npt.DTypeLike) -> np.ndarray:
    """A read-only block of ``shape`` filled with ``value`` that takes no memory (zero
    strides): what all-nodata blocks (sea) become through lookups, so that later steps and
    sinks skip them cheaply."""
    return np.broadcast_to(np.asarray(value, dtype=dtype), shape)


def _uint8_histogram(block: np.ndarray) -> np.ndarray:
    """Count of each byte value (length 256). Pairs of bytes are counted as uint16 words (one
    bincount over half as many elements, 2.5x faster) and folded back: word = lo + 256 * hi
    on little-endian machines, hi + 256 * lo on big-endian ones; both bytes are counted."""
    flat = np.ascontiguousarray(block).ravel()
    even = flat.size - flat.size % 2
    pairs = np.bincount(flat[:even].view(np.uint16), minlength=65536).reshape(256, 256)
    counts = pairs.sum(axis=0) + pairs.sum(axis=1)
    if even < flat.size:
        counts[flat[-1]] += 1
    return counts


def _block_counts(block: np.ndarray, nodata: float | None) -> pd.Series:
    low = uniform_value(block) if block.dtype.kind in "ui" else None
    if low is not None:  # one value in the whole block (sea, nodata fill): no mask, no count
        keep = nodata is None or low != nodata
        index = np.array([low] if keep else [],
                         dtype=np.int64 if block.dtype == np.uint8 else block.dtype)
        return pd.Series(np.full(len(index), block.size), index=index, dtype=np.int64)
    if block.dtype == np.uint8:
        counts = _uint8_histogram(block)
        if nodata is not None and float(nodata).is_integer() and 0 <= nodata < 256:
            counts[int(nodata)] = 0
        codes = np.nonzero(counts)[0]
        return pd.Series(counts[codes], index=codes.astype(np.int64), dtype=np.int64)
    values = block[_valid_mask(block, nodata)]
    codes, counts = np.unique(values, return_counts=True)
    return pd.Series(counts, index=codes, dtype=np.int64)


def code_counts(codes: xr.DataArray, *, lazy: bool = False) -> pd.Series:
    """Pixel count of every raw code present (nodata and NaN excluded), indexed by code.

    One pass over the raster; per-chunk counts are summed, so memory stays bounded. With
    ``lazy=True`` a dask-backed raster gives a ``dask.delayed`` Series instead, to compute in
    the same ``dask.compute`` as other passes over the same chunks (each chunk read once).
    """
    nodata = codes.rio.nodata
    if not is_dask(codes):
        return _sum_counts([_block_counts(np.asarray(codes.data), nodata)])
    import dask

    # unoptimised graph: the chunk keys stay those of the raster, so another graph over the
    # same chunks computed together shares their reads
    parts = [dask.delayed(_block_counts)(b, nodata)
             for b in codes.data.to_delayed(optimize_graph=False).ravel()]
    total = dask.delayed(_sum_counts)(parts)
    return total if lazy else total.compute()


def _sum_counts(parts: list[pd.Series]) -> pd.Series:
    counts = pd.concat(parts).groupby(level=0).sum() if parts else pd.Series(dtype=np.int64)
    counts.index.name = "code"
    return counts.rename("pixels")


def check_codes(counts: pd.Series, legend: Legend, exclude_codes: Iterable[int] = (),
                source: str = "The land-cover raster") -> None:
    """Raise if the raster holds codes the legend does not map (and the config does not
    exclude). ``source`` names the raster in the message (e.g. with its file).

    Raises
    ------
    UnmappedCodesError
        Listing each unmapped code with its pixel count.
    """
    known = set(legend.codes.tolist()) | {int(c) for c in exclude_codes}
    index = counts.index.to_numpy()
    integral = np.equal(np.mod(index, 1), 0) if index.dtype.kind == "f" else np.ones(
        len(index), bool)
    bad = counts[[(not ok) or int(c) not in known for c, ok in zip(index, integral, strict=True)]]
    if len(bad):
        listing = ", ".join(f"{code_text(c)} ({n:,} px)" for c, n in bad.items())
        raise UnmappedCodesError(
            f"{source} holds {len(bad)} class code(s) that legend {legend.name!r} "
            f"does not map: {listing}. Use the legend of the product that made the raster, add "
            "the codes to a custom legend CSV, or list them in [landcover] exclude_codes to "
            "leave those pixels out of the accounting.",
            {c: int(n) for c, n in bad.items()},
        )


def code_text(code: float) -> str:
    """A raster code as its value: ``10`` for 10.0, ``10.5`` for a fractional pixel value."""
    return str(int(code)) if float(code).is_integer() else repr(float(code))


def _lookup_table(legend: Legend, exclude_codes: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
    mapping = legend.category_of_code(tuple(int(c) for c in exclude_codes))
    return mapping.index.to_numpy(dtype=np.int64), mapping.to_numpy(dtype=np.uint8)


def _classify_block(block: np.ndarray, keys: np.ndarray, values: np.ndarray,
                    nodata: float | None) -> np.ndarray:
    value = uniform_value(block) if block.dtype.kind in "ui" else None
    if value is not None and (nodata is None or value != nodata):
        # one code in the whole block: classify that one pixel, broadcast the result
        one = _classify_block(block.flat[:1].reshape(1, 1), keys, values, nodata)[0, 0]
        return uniform_block(one, block.shape, np.uint8)
    if value is not None:
        # all nodata (sea, outside the data): a zero-memory block
        return uniform_block(NODATA_CATEGORY, block.shape, np.uint8)
    if block.dtype in (np.uint8, np.uint16):
        # one gather through a full lookup table (nodata and unknown codes -> 255)
        lut = np.full(256 if block.dtype == np.uint8 else 65536, NODATA_CATEGORY, np.uint8)
        inside = (keys >= 0) & (keys < lut.size)
        lut[keys[inside].astype(np.int64)] = values[inside]
        if nodata is not None and float(nodata).is_integer() and 0 <= nodata < lut.size:
            lut[int(nodata)] = NODATA_CATEGORY
        return lut[block]
    out = np.full(block.shape, NODATA_CATEGORY, dtype=np.uint8)
    valid = _valid_mask(block, nodata)
    if not valid.any():
        return out
    codes = block[valid]
    if codes.dtype.kind == "f":
        codes = np.round(codes).astype(np.int64)
    if codes.dtype.kind in "ui" and keys.size and keys.min() >= 0 and keys.max() < 65536:
        lut = np.full(int(keys.max()) + 1, NODATA_CATEGORY, dtype=np.uint8)
        lut[keys] = values
        inside = (codes >= 0) & (codes <= keys.max())
        result = np.full(codes.shape, NODATA_CATEGORY, dtype=np.uint8)
        result[inside] = lut[codes[inside]]
    else:
        pos = np.clip(np.searchsorted(keys, codes), 0, max(len(keys) - 1, 0))
        result = np.where(keys[pos] == codes, values[pos], NODATA_CATEGORY).astype(np.uint8)
    out[valid] = result
    return out


def classify(codes: xr.DataArray, legend: Legend, exclude_codes: Iterable[int] = ()
             ) -> xr.DataArray:
    """Map raw codes to legend categories (index of ``legend.categories``).

    Nodata, excluded codes (space type ``excluded`` or listed in ``exclude_codes``) and codes
    the legend does not know become 255. Run :func:`check_codes` first to refuse unknown codes.

    Returns
    -------
    xarray.DataArray
        uint8, named ``category``, nodata 255; attrs ``legend`` and ``categories`` (JSON list of
        [land_class, space_type] pairs).
    """
    keys, values = _lookup_table(legend, exclude_codes)
    order = np.argsort(keys)
    keys, values = keys[order], values[order]
    nodata = codes.rio.nodata
    if is_dask(codes):
        data = codes.data.map_blocks(_classify_block, keys, values, nodata, dtype=np.uint8)
    else:
        data = np.array(_classify_block(np.asarray(codes.data), keys, values, nodata))
    out = codes.copy(data=data)
    out.name = "category"
    out.attrs = {
        "legend": legend.name,
        "categories": json.dumps(legend.categories.to_numpy().tolist(), ensure_ascii=False),
        "long_name": "land-cover category (land class x space type)",
    }
    out.encoding = {}
    return out.rio.write_nodata(NODATA_CATEGORY)


def byte_category_table(legend: Legend, exclude_codes: Iterable[int] = (),
                        nodata: float | None = None) -> np.ndarray:
    """The category that :func:`classify` gives each byte code ``0..255`` (uint8, length
    256; 255 for nodata, excluded and unknown codes): ``classify`` of a ``uint8`` raster is
    this table indexed by the raster."""
    keys, values = _lookup_table(legend, exclude_codes)
    order = np.argsort(keys)
    every = np.arange(256, dtype=np.uint8).reshape(1, 256)
    return np.asarray(_classify_block(every, keys[order], values[order], nodata))[0]


def categories_of(da: xr.DataArray) -> pd.DataFrame:
    """The (land_class, space_type) table stored in a category raster's attrs."""
    return pd.DataFrame(json.loads(da.attrs["categories"]), columns=["land_class", "space_type"])


def _recode(categories: xr.DataArray, table: np.ndarray, name: str, long_name: str
            ) -> xr.DataArray:
    lut = np.full(256, 0, dtype=np.uint8)
    lut[: len(table)] = table
    def recode(b: np.ndarray) -> np.ndarray:
        value = uniform_value(b)
        return lut[b] if value is None else uniform_block(lut[int(value)], b.shape, np.uint8)

    if is_dask(categories):
        data = categories.data.map_blocks(recode, dtype=np.uint8)
    else:
        data = lut[np.asarray(categories.data)]
    out = categories.copy(data=data)
    out.name = name
    out.attrs = {"long_name": long_name}
    return out.rio.write_nodata(0)


def land_class_values(categories: pd.DataFrame) -> np.ndarray:
    """Land-class raster value (1..n, order of :func:`landcarbon.accounting.legends.land_classes`)
    of each
    category of a (land_class, space_type) table."""
    order = {lc: i + 1 for i, lc in enumerate(land_classes().index)}
    return categories["land_class"].map(order).to_numpy(dtype=np.uint8)


def space_type_values(categories: pd.DataFrame) -> np.ndarray:
    """Space-type raster value (1 agricultural, 2 construction, 3 ecological) of each category
    of a (land_class, space_type) table."""
    order = {st: i + 1 for i, st in enumerate(SPACE_TYPES)}
    return categories["space_type"].map(order).to_numpy(dtype=np.uint8)


def land_class_raster(categories: xr.DataArray) -> xr.DataArray:
    """Land class of each pixel as 1..n in the order of
    :func:`landcarbon.accounting.legends.land_classes`
    (0 = nodata)."""
    table = land_class_values(categories_of(categories))
    return _recode(categories, table, "land_class", "land class (see land_classes.csv order)")


def space_type_raster(categories: xr.DataArray) -> xr.DataArray:
    """Space type of each pixel: 1 agricultural, 2 construction, 3 ecological, 0 nodata."""
    table = space_type_values(categories_of(categories))
    return _recode(categories, table, "space_type",
                   "space type: 1 agricultural, 2 construction, 3 ecological")
