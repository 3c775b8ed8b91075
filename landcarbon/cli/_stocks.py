"""The ``stocks`` command: an InVEST-style stocks-only study (land-cover rasters + a carbon
pools table; no legend, no thresholds)."""

from __future__ import annotations

from pathlib import Path

import click

from landcarbon.cli._base import (
    handle_errors,
    log,
    main,
)
from landcarbon.cli._options import (
    UNIT_SUFFIXES,
    InputPath,
    emit_result,
    json_option,
    overwrite_option,
    progress_default,
)


@main.command()
@click.argument("pools", type=InputPath(dir_okay=False, suffixes=(".csv",)))
@click.argument("landcover", nargs=-1, required=True)
@click.option("-y", "--year", "years", type=int, multiple=True, help="Calendar year of each "
              "LANDCOVER raster, in order (repeat: -y 2020 -y 2050); needed for valuation "
              "and for more than two rasters. Without it the dates are bas and alt.")
@click.option("--units", type=InputPath(dir_okay=False, suffixes=UNIT_SUFFIXES),
              help="Optional land units (GeoPackage, Shapefile...): stocks per unit too.")
@click.option("--layer", help="Layer of --units (multi-layer files).")
@click.option("--id-field", help="Field of --units with the unit ids (default: row number).")
@click.option("--name-field", help="Field of --units with the unit names (default: the id).")
@click.option("--price", "price_per_tc", type=float, help="Carbon price per t C (= Mg C) at "
              "the first date (InVEST price_per_metric_ton_of_c): values the change (NPV).")
@click.option("--discount-rate", type=float, default=0.0, show_default=True,
              help="Annual market discount rate, % (InVEST discount_rate).")
@click.option("--rate-change", type=float, default=0.0, show_default=True,
              help="Annual change of the carbon price, % (InVEST rate_change).")
@click.option("--pixel-area", type=click.Choice(["auto", "nominal", "ellipsoidal"]),
              default="auto", show_default=True, help="auto: nominal pixel area in a "
              "projected CRS (as InVEST), ellipsoidal in a geographic one.")
@click.option("--nodata", type=float, help="Nodata of rasters that declare none.")
@click.option("--no-rasters", is_flag=True, help="Tables only: no c_storage/c_change/npv "
              "rasters.")
@click.option("-o", "--out", type=InputPath(file_okay=False),
              default=Path("stocks_out"), show_default=True, help="Output folder.")
@overwrite_option
@json_option
@handle_errors
def stocks(pools: Path, landcover: tuple[str, ...], years: tuple[int, ...], units: Path | None,
           layer: str | None, id_field: str | None, name_field: str | None,
           price_per_tc: float | None, discount_rate: float, rate_change: float,
           pixel_area: str, nodata: float | None, no_rasters: bool, out: Path,
           overwrite: bool, as_json: bool) -> None:
    """Carbon stocks from LANDCOVER rasters and an InVEST carbon POOLS table alone (columns
    lucode, c_above, c_below, c_soil, c_dead in Mg C/ha), as InVEST Carbon Storage and
    Sequestration computes them: stock rasters per date (c_storage_<date>.tif, Mg C/ha),
    their change and its net present value, whole-raster totals (stock_totals.csv,
    stock_change_totals.csv) and, with --units, totals per unit.

    \b
    Example:
      landcarbon stocks pools.csv lulc_cur.tif lulc_fut.tif -y 2020 -y 2050 -o out/stocks
      landcarbon stocks carbon_pools_willamette.csv lulc_samp_cur.tif lulc_samp_fut.tif \\
          -y 2020 -y 2050 --price 43 --discount-rate 7 --units watersheds.shp \\
          --id-field ws_id -o out/willamette
    """
    from landcarbon.io.vector import read_units
    from landcarbon.pipeline.stocks_study import run_stocks

    gdf = None if units is None else read_units(units, layer=layer, id_field=id_field,
                                                name_field=name_field)
    study, folder, files = run_stocks(
        pools, list(landcover), out, overwrite=overwrite, rasters=not no_rasters,
        progress=progress_default(), years=list(years) or None, units=gdf,
        price_per_tc=price_per_tc, discount_rate_pct=discount_rate,
        price_change_pct=rate_change, pixel_area=pixel_area, nodata=nodata)
    for r in study.totals.itertuples():
        log.info("%s: %.3f t C (= Mg C) on %.2f ha", r.date, r.stock_tc, r.stocked_ha)
    for r in study.changes.itertuples():
        log.info("%s -> %s: change %+.3f t C%s", r.date_from, r.date_to, r.stock_change_tc,
                 "" if r.npv != r.npv else f", net present value {r.npv:,.2f}")
    emit_result("stocks", folder, files, as_json=as_json, totals=study.to_dict())
