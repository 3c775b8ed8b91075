"""Horizontal carbon compensation (横向碳补偿) between units, zero-sum (methodology section 5,
a design proposal [P]).

Each unit's carbon deficit is ``dC_i = E_i (1 - ESC_i)`` with ``ESC_i = (S_i/S)/(E_i/E)``.
Expanding, ``E_i x ESC_i = S_i x E / S``, so ``dC_i = E_i - S_i x E / S``: the unit's emission
minus the share of the region's emission that its sinks "carry". Summing over units,
``sum dC_i = E - (E / S) x S = 0`` exactly: the scheme is zero-sum without any rescaling, and
this form is also defined for units with ``E_i = 0`` (where ESC is infinite). It needs a
regional sink ``S > 0``.

Money: ``value_i = dC_i x 44/12 x price (per t CO2) x K_i`` with optional correction factors
``K_i`` (e.g. GDP per capita, ecological importance; default 1). Factors other than 1 break
the balance of payments, so receipts are rescaled: receivers share the total paid by payers in
proportion to their ``|dC_i| x K_i`` (documented as ``settled_value``). Payers pay when
``dC_i > band x E_i``, receivers receive when ``dC_i < -band x E_i``; units inside the band are
``balanced`` and settle nothing (band default 5 %); the settlement is zero-sum by construction.
The unit-to-unit summary allocates each payer's payment to receivers in proportion to their
receipts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from landcarbon.accounting.conversions import C_TO_CO2, suffix_factor
from landcarbon.exceptions import InputError

__all__ = ["compensation_flows", "horizontal_compensation"]


def horizontal_compensation(
    table: pd.DataFrame,
    *,
    suffix: str = "tc",
    price_per_tco2: float = 0.0,
    band: float = 0.05,
    correction: pd.Series | None = None,
) -> pd.DataFrame:
    """Carbon deficit, role and settled value of each unit.

    Parameters
    ----------
    table : pandas.DataFrame
        Units with ``unit_id``, ``emission_<suffix>`` and ``sequestration_<suffix>``.
    suffix : {"tc", "tco2"}
        Unit of the flux columns (the deficit is reported in the same unit).
    price_per_tco2 : float
        Carbon price per t CO2 (any currency, e.g. CNY).
    band : float
        Relative band (fraction of E_i) inside which a unit is ``balanced``.
    correction : pandas.Series, optional
        Correction factor K_i per unit_id (> 0); missing units get 1.

    Returns
    -------
    pandas.DataFrame
        Same index: ``compensation_<suffix>`` (dC_i, + = owes), ``compensation_role``
        (``payer``/``balanced``/``receiver``), ``compensation_factor`` (K_i),
        ``compensation_value`` (settled money, + = pays, - = receives).

    Raises
    ------
    InputError
        When the region has no sink (S = 0): nobody can receive.
    """
    if band < 0:
        raise InputError(f"[compensation] band must be >= 0 (got {band}).")
    e = table[f"emission_{suffix}"].to_numpy(dtype=np.float64)
    s = table[f"sequestration_{suffix}"].to_numpy(dtype=np.float64)
    e_tot, s_tot = e.sum(), s.sum()
    if not s_tot > 0:
        raise InputError("Horizontal compensation needs a regional carbon sink (total "
                         "sequestration is 0): no unit can receive compensation. Disable "
                         "[compensation] or check the coefficients.")
    dc = e - s * (e_tot / s_tot)
    k = np.ones(len(table))
    if correction is not None:
        k = table["unit_id"].astype(str).map(correction).fillna(1.0).to_numpy(dtype=np.float64)
        if (k <= 0).any() or not np.isfinite(k).all():
            raise InputError("[compensation] correction factors must be finite numbers > 0.")
    role = np.where(dc > band * e, "payer", np.where(dc < -band * e, "receiver", "balanced"))
    tco2 = dc * (C_TO_CO2 / suffix_factor(suffix))
    raw = tco2 * price_per_tco2 * k
    value = np.zeros(len(table))
    pay = role == "payer"
    rec = role == "receiver"
    value[pay] = raw[pay]
    claims = -raw[rec]
    if claims.sum() > 0:
        value[rec] = -claims / claims.sum() * raw[pay].sum()
    return pd.DataFrame({f"compensation_{suffix}": dc, "compensation_role": role,
                         "compensation_factor": k, "compensation_value": value},
                        index=table.index)


def compensation_flows(table: pd.DataFrame, comp: pd.DataFrame, *, suffix: str = "tc"
                       ) -> pd.DataFrame:
    """Unit-to-unit summary: each payer's payment split among receivers pro rata.

    Parameters
    ----------
    table : pandas.DataFrame
        Units with ``unit_id`` (and ``unit_name``).
    comp : pandas.DataFrame
        Output of :func:`horizontal_compensation` (same index as ``table``).

    Returns
    -------
    pandas.DataFrame
        ``payer_id, payer_name, receiver_id, receiver_name, carbon_<suffix>, value``: one row
        per (payer, receiver) pair; ``value`` sums to the payers' total, ``carbon`` to the
        receivers' settled deficit share.
    """
    names = table.get("unit_name", table["unit_id"]).astype(str).to_numpy()
    ids = table["unit_id"].astype(str).to_numpy()
    role = comp["compensation_role"].to_numpy()
    value = comp["compensation_value"].to_numpy(dtype=np.float64)
    dc = comp[f"compensation_{suffix}"].to_numpy(dtype=np.float64)
    pay = np.flatnonzero(role == "payer")
    rec = np.flatnonzero(role == "receiver")
    cols = ["payer_id", "payer_name", "receiver_id", "receiver_name", f"carbon_{suffix}",
            "value"]
    if not len(pay) or not len(rec):
        return pd.DataFrame(columns=cols)
    share = -value[rec] / -value[rec].sum() if value[rec].sum() < 0 else (
        dc[rec] / dc[rec].sum())
    pay_grid, rec_grid = np.meshgrid(pay, np.arange(len(rec)), indexing="ij")
    pi, ri = pay_grid.ravel(), rec_grid.ravel()
    return pd.DataFrame({
        "payer_id": ids[pi], "payer_name": names[pi],
        "receiver_id": ids[rec[ri]], "receiver_name": names[rec[ri]],
        f"carbon_{suffix}": dc[pi] * share[ri],
        "value": value[pi] * share[ri],
    }, columns=cols)
