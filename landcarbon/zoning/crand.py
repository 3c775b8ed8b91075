"""Pseudo p-values of local Getis-Ord G* and local Moran's I by conditional randomisation,
compiled once and kept in numba's disk cache.

esda computes these permutations with numba functions that are not cached: every process
compiled them again, 16-19 s of every ``landcarbon zone`` run on the project's 2-core
machine (the hot spots of 65 townships take milliseconds once compiled). This module is a
port of the code that esda 2.x runs for them (``esda.crand``: ``vec_permutations``,
``_prepare_univariate``, ``compute_chunk``; the statistics ``_g_local_star_crand`` and
``_moran_local_crand``; the "directed" pseudo p-value of ``_permutation_significance``),
with the same operations in the same order and the same numba flags, so that a seed gives
the p-values esda gives (tested against esda), except where draws tie with the observed
statistic. esda counts a draw at least as extreme when ``r >= observed`` and folds to the
other side with ``r < observed``: a draw equal to the observed value, but computed in another
order (its last bits differ), was lost, and a site whose neighbours are the most extreme
possible (identical values: a ring of forest units, a grid of equal cells) got p = 1 / (n +
1). Here a draw within :data:`TIE` of it counts on both sides (the p-value of exact
enumeration). esda is BSD-3-Clause licensed, (c) the PySAL developers.

Only the numbers are computed here (no weights objects): the callers take the observed
statistics, the standardised values and the weights from ``esda.G_Local`` /
``esda.Moran_Local`` created with ``permutations=0``.
"""

from __future__ import annotations

import logging
import os
import warnings
from typing import Any

import numpy as np
from numba import njit

__all__ = ["G_STAR", "MORAN", "pseudo_p_values"]

log = logging.getLogger(__name__)

#: the statistics: local Getis-Ord G* (self-weight included) and local Moran's I
G_STAR, MORAN = 0, 1


@njit(fastmath=True, cache=True)
def _permuted_ids(max_card: int, n: int, k_replications: int,
                  seed: int) -> np.ndarray:  # pragma: no cover  (compiled)
    """``k_replications`` draws of ``max_card`` ids out of ``n - 1`` without replacement
    (esda's ``vec_permutations``: numba's generator seeded with ``seed``)."""
    np.random.seed(seed)
    result = np.empty((k_replications, max_card), dtype=np.int64)
    for k in range(k_replications):
        result[k] = np.random.choice(n - 1, size=max_card, replace=False)
    return result


@njit(fastmath=False, cache=True)
def _draw(i: int, z: np.ndarray, permuted_ids: np.ndarray,
          weights_i: np.ndarray) -> tuple[float, np.ndarray]:  # pragma: no cover
    """The value of site ``i`` and, per permutation, the values of the other sites drawn as
    its neighbours (esda's ``_prepare_univariate``)."""
    mask = np.ones(z.shape[0], dtype=np.bool_)
    mask[i] = False
    z_no_i = z[mask]
    cardinality = len(weights_i)
    flat_permutation_ids = permuted_ids[:, :cardinality].flatten()
    zrand = z_no_i[flat_permutation_ids].reshape(-1, cardinality)
    return z[i], zrand


@njit(fastmath=True, cache=True)
def _statistic(kind: int, i: int, z: np.ndarray, permuted_ids: np.ndarray,
               weights_i: np.ndarray, scaling: float) -> np.ndarray:  # pragma: no cover
    """Site ``i``'s statistic for every permutation (esda's ``_g_local_star_crand``,
    ``_moran_local_crand``): the lag of the drawn neighbours plus the site's own weighted
    value, over ``scaling`` (G*) or times the site's value and ``scaling`` (Moran)."""
    self_weight = weights_i[0]
    other_weights = weights_i[1:]
    zi, zrand = _draw(i, z, permuted_ids, other_weights)
    if kind == 0:
        return (zrand @ other_weights + self_weight * zi) / scaling
    return zi * (zrand @ other_weights + self_weight * zi) * scaling


#: Draws within this share of the largest |statistic| of the observed value are ties: the
#: permutations compute a statistic in another order than the observed one, so draws equal
#: to it differ in the last bits.
TIE = 1e-9


@njit(fastmath=False, cache=True)
def _directed(observed: float, rstats: np.ndarray) -> float:  # pragma: no cover
    """(draws at least as extreme, on the observed value's side, + 1) / (draws + 1); a draw
    equal to the observed value (within :data:`TIE`) is as extreme on either side."""
    p_permutations = rstats.shape[0]
    scale = abs(observed)
    for r in rstats:
        scale = max(scale, abs(r))
    tol = TIE * scale
    upper = 0
    lower = 0
    for r in rstats:
        upper += r >= observed - tol
        lower += r <= observed + tol
    return (min(upper, lower) + 1.0) / (p_permutations + 1.0)


@njit(fastmath=True, cache=True)
def _sites(kind: int, z: np.ndarray, observed: np.ndarray, cardinalities: np.ndarray,
           self_weights: np.ndarray, other_weights: np.ndarray, permuted_ids: np.ndarray,
           scaling: float, island_weight: float) -> np.ndarray:  # pragma: no cover
    """Each site's pseudo p-value (esda's ``compute_chunk`` over all sites)."""
    n = z.shape[0]
    out = np.zeros(n)
    wloc = 0
    for i in range(n):
        cardinality = cardinalities[i]
        if cardinality == 0:  # an island: one "fake" neighbour of weight island_weight
            weights_i = np.zeros(2, dtype=other_weights.dtype)
            weights_i[1] = island_weight
        else:  # the self-weight first, then the next `cardinality` weights
            weights_i = np.zeros(cardinality + 1, dtype=other_weights.dtype)
            weights_i[0] = self_weights[i]
            weights_i[1:] = other_weights[wloc:(wloc + cardinality)]
        wloc += cardinality
        out[i] = _directed(observed[i], _statistic(kind, i, z, permuted_ids, weights_i,
                                                   scaling))
    return out


def _compiled() -> bool:
    """Whether the permutations are in numba's disk cache (True when it cannot be told)."""
    try:
        index = _sites._cache._cache_file._index_path
    except AttributeError:  # another numba's internals
        return True
    return bool(os.path.exists(index))


def pseudo_p_values(kind: int, z: np.ndarray, w: Any, observed: np.ndarray,
                    permutations: int, seed: int, *, scaling: float | None = None,
                    island_weight: float = 0.0) -> np.ndarray:
    """Directed pseudo p-values of each site's local statistic under conditional
    randomisation (the other sites' values drawn as its neighbours).

    Parameters
    ----------
    kind : int
        :data:`G_STAR` or :data:`MORAN`.
    z : numpy.ndarray
        The values (G*: the raw values; Moran: the standardised values), float64.
    w : libpysal.weights.W
        The weights the statistic used (transformed; G*: with its self-weights).
    observed : numpy.ndarray
        The observed statistic of each site.
    permutations : int
    seed : int
    scaling : float, optional
        G*: the sum of the values; Moran (default): ``(n - 1) / sum(z * z)``.
    island_weight : float

    Returns
    -------
    numpy.ndarray
        One p-value per site, float64 (``(k + 1) / (permutations + 1)``, ``k`` the draws
        at least as extreme on the observed value's side): esda's ``Moran_Local.p_sim``; its
        ``G_Local.p_sim`` is this as float32.
    """
    z = np.asarray(z, dtype=np.float64)
    n = len(z)
    if not _compiled():
        log.info("first hot-spot run: compiling the permutations for this machine (numba, "
                 "once, about 5-10 s); later runs load them from the cache")
    if scaling is None:
        scaling = (n - 1) / (z * z).sum()
    adj = w.sparse.tocsr(copy=True)
    self_weights = adj.diagonal()
    with warnings.catch_warnings():  # changing the diagonal's sparsity: cheap here
        warnings.simplefilter("ignore")
        adj.setdiag(0)
        adj.eliminate_zeros()
    other_weights = adj.data.astype(z.dtype)
    cardinalities = np.array((adj != 0).sum(1)).flatten()
    permuted = _permuted_ids(int(cardinalities.max()), n, int(permutations), int(seed))
    return _sites(int(kind), z, np.asarray(observed, dtype=np.float64), cardinalities,
                  np.asarray(self_weights, dtype=np.float64), other_weights, permuted,
                  float(scaling), float(island_weight))
