"""Streamlit app: a price, its interval and what drives it for one house; batch CSV predictions.

Run with `house-prices app` (or `streamlit run` on this file). The model comes from
HOUSE_PRICES_MODEL, else it is the newest model any profile trained (`predictor.find_model`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from house_prices.config import PROJECT_ROOT
from house_prices.data import HouseDataError, read_houses, validate
from house_prices.predict import predict_houses
from house_prices.predictor import MODEL_ENV as MODEL_ENV  # the variable `house-prices app` sets
from house_prices.predictor import HousePricePredictor, find_model
from house_prices.schema import CATEGORIES, FEATURES
from mlshared.console import UserError

NEIGHBORHOOD_NAMES = {
    "Blmngtn": "Bloomington Heights", "Blueste": "Bluestem", "BrDale": "Briardale", "BrkSide": "Brookside",
    "ClearCr": "Clear Creek", "CollgCr": "College Creek", "Crawfor": "Crawford", "Edwards": "Edwards",
    "Gilbert": "Gilbert", "IDOTRR": "Iowa DOT and Rail Road", "MeadowV": "Meadow Village", "Mitchel": "Mitchell",
    "Names": "North Ames", "NoRidge": "Northridge", "NPkVill": "Northpark Villa", "NridgHt": "Northridge Heights",
    "NWAmes": "Northwest Ames", "OldTown": "Old Town", "SWISU": "South & West of Iowa State University",
    "Sawyer": "Sawyer", "SawyerW": "Sawyer West", "Somerst": "Somerset", "StoneBr": "Stone Brook",
    "Timber": "Timberland", "Veenker": "Veenker",
}  # fmt: skip
QUALITY_NAMES = {"Ex": "Excellent", "Gd": "Good", "TA": "Typical", "Fa": "Fair", "Po": "Poor"}
GARAGE_COLUMNS = ("GarageType", "GarageFinish", "GarageQual", "GarageCond", "GarageYrBlt")


def model_path() -> Path:
    """HOUSE_PRICES_MODEL (`house-prices app` sets it), else the newest trained model of any profile."""
    return find_model()


@st.cache_resource(show_spinner="Loading the model...")
def load_predictor(path: str) -> HousePricePredictor:
    return HousePricePredictor.load(Path(path))


@dataclass
class FormResult:
    house: pd.DataFrame | None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def house_from_form(typical: dict[str, Any], inputs: dict[str, Any]) -> FormResult:
    """A full house row: the typical house, overridden by the form, kept internally consistent."""
    row = dict(typical)
    row.update({k: v for k, v in inputs.items() if k in FEATURES})
    errors = []
    row["GrLivArea"] = row["1stFlrSF"] + row["2ndFlrSF"] + (row.get("LowQualFinSF") or 0)
    finished = float(inputs.get("finished_basement", 0))
    if finished > row["TotalBsmtSF"]:
        errors.append("The finished basement area cannot exceed the total basement area.")
    row["BsmtFinSF1"], row["BsmtFinSF2"], row["BsmtUnfSF"] = finished, 0.0, max(row["TotalBsmtSF"] - finished, 0)
    if row["TotalBsmtSF"] == 0:
        for column in ("BsmtQual", "BsmtCond", "BsmtExposure", "BsmtFinType1", "BsmtFinType2"):
            row[column] = None
    if row["GarageCars"] == 0:
        row["GarageArea"] = 0.0
        for column in GARAGE_COLUMNS:
            row[column] = None
    elif row.get("GarageType") is None:
        errors.append("The typical house has no garage details; set garage capacity to 0 or upload a CSV.")
    if row["YearRemodAdd"] < row["YearBuilt"]:
        errors.append("The remodelling year cannot be before the year the house was built.")
    if row["YrSold"] < row["YearBuilt"]:
        errors.append("The sale year cannot be before the year the house was built.")
    if errors:
        return FormResult(None, errors)
    try:
        houses = validate(pd.DataFrame([row]), "the form")
    except HouseDataError as error:
        return FormResult(None, error.problems)
    return FormResult(houses.frame, warnings=houses.warnings)


def _single_house(predictor: HousePricePredictor) -> None:
    typical = predictor.typical_house
    st.caption("Defaults describe the most typical house of the training data; the drivers compare against it.")
    with st.form("house"):
        left, middle, right = st.columns(3)
        neighborhoods = sorted(CATEGORIES["Neighborhood"], key=lambda code: NEIGHBORHOOD_NAMES[code])
        inputs: dict[str, Any] = {
            "Neighborhood": left.selectbox(
                "Neighborhood", neighborhoods, index=neighborhoods.index(typical["Neighborhood"]),
                format_func=lambda code: NEIGHBORHOOD_NAMES[code],
            ),
            "OverallQual": left.slider("Overall quality (1-10)", 1, 10, int(typical["OverallQual"])),
            "OverallCond": left.slider("Overall condition (1-10)", 1, 10, int(typical["OverallCond"])),
            "KitchenQual": left.selectbox(
                "Kitchen quality", list(QUALITY_NAMES), index=list(QUALITY_NAMES).index(typical["KitchenQual"]),
                format_func=QUALITY_NAMES.__getitem__,
            ),
            "ExterQual": left.selectbox(
                "Exterior quality", list(QUALITY_NAMES), index=list(QUALITY_NAMES).index(typical["ExterQual"]),
                format_func=QUALITY_NAMES.__getitem__,
            ),
            "1stFlrSF": middle.number_input("First floor (sq ft)", 300, 6000, int(typical["1stFlrSF"]), step=10),
            "2ndFlrSF": middle.number_input("Second floor (sq ft)", 0, 3000, int(typical["2ndFlrSF"]), step=10),
            "TotalBsmtSF": middle.number_input("Basement (sq ft)", 0, 6000, int(typical["TotalBsmtSF"]), step=10),
            "finished_basement": middle.number_input(
                "of which finished (sq ft)", 0, 6000, int(typical["BsmtFinSF1"] + typical["BsmtFinSF2"]), step=10
            ),
            "LotArea": middle.number_input("Lot area (sq ft)", 1000, 250_000, int(typical["LotArea"]), step=100),
            "YearBuilt": right.number_input("Year built", 1870, 2010, int(typical["YearBuilt"])),
            "YearRemodAdd": right.number_input("Year remodelled (= built if never)", 1870, 2010,
                                               int(typical["YearRemodAdd"])),
            "YrSold": right.selectbox("Year sold", [2006, 2007, 2008, 2009, 2010],
                                      index=[2006, 2007, 2008, 2009, 2010].index(int(typical["YrSold"]))),
            "GarageCars": right.slider("Garage capacity (cars)", 0, 4, int(typical["GarageCars"])),
            "FullBath": right.slider("Full bathrooms", 0, 4, int(typical["FullBath"])),
            "Fireplaces": right.slider("Fireplaces", 0, 3, int(typical["Fireplaces"])),
        }  # fmt: skip
        submitted = st.form_submit_button("Estimate price", type="primary")
    if not submitted and "last_house" not in st.session_state:
        st.info("Adjust the house and press **Estimate price**.")
        return
    if submitted:
        st.session_state["last_house"] = inputs
    result = house_from_form(typical, st.session_state["last_house"])
    for problem in result.errors:
        st.error(problem)
    if result.house is None:
        return
    for warning in result.warnings:
        st.warning(warning)
    _show_prediction(predictor, result.house)


def _show_prediction(predictor: HousePricePredictor, house: pd.DataFrame) -> None:
    estimate = predictor.predict_with_interval(house).iloc[0]
    level = round(predictor.interval_level * 100)
    price_col, interval_col = st.columns(2)
    price_col.metric("Estimated price", f"${estimate['SalePrice']:,.0f}")
    interval_col.metric(f"{level}% prediction interval", f"${estimate['low']:,.0f} – ${estimate['high']:,.0f}")
    drivers = predictor.explain(house.iloc[0])
    if not drivers:
        st.write("This house is the typical house: nothing moves its price away from the typical price.")
        return
    st.subheader("What drives this price")
    st.caption(
        "Each bar: how much the price changes because this feature differs from the typical house "
        "(the model's prediction with that one feature reset to its typical value)."
    )
    table = pd.DataFrame(
        {
            "feature": [d.feature for d in drivers],
            "this house": [_show(d.value) for d in drivers],
            "typical house": [_show(d.typical) for d in drivers],
            "effect on price (%)": [round(100 * d.effect, 1) for d in drivers],
        }
    )
    st.bar_chart(table, x="feature", y="effect on price (%)", horizontal=True, sort=False)
    st.dataframe(table, hide_index=True, width="stretch")


def _show(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "none"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _batch(predictor: HousePricePredictor) -> None:
    st.write(
        "Upload a CSV of houses with the columns of Kaggle's `test.csv` (extra columns are ignored). "
        "You get `Id, SalePrice` and the prediction interval for every house."
    )
    template = pd.DataFrame([predictor.typical_house])[list(FEATURES)]
    st.download_button("Download a template (one typical house)", template.to_csv(index=False), "template.csv")
    upload = st.file_uploader("CSV of houses", type=["csv"])
    if upload is None:
        return
    try:
        houses = read_houses(upload.getvalue(), name=upload.name)
    except HouseDataError as error:
        st.error(f"**{upload.name} cannot be used.**\n\n" + "\n".join(f"- {p}" for p in error.problems))
        st.info(error.hint or "")
        return
    for warning in houses.warnings:
        st.warning(warning)
    predictions = predict_houses(predictor, houses, with_interval=True)
    st.success(f"Predicted {len(predictions)} houses; median price ${predictions['SalePrice'].median():,.0f}.")
    st.dataframe(predictions, hide_index=True, width="stretch")
    st.download_button(
        "Download predictions (CSV)", predictions.to_csv(index=False), "predictions.csv", mime="text/csv"
    )


def _about(predictor: HousePricePredictor) -> None:
    meta = predictor.metadata
    cv = meta.get("cv", {})
    selected = meta.get("selected_model", "blend")
    described = f"a blend of {', '.join(meta.get('blend_weights', {}))}" if selected == "blend" else selected
    st.write(
        f"The selected model ({described}, lowest cross-validated error) was trained on "
        f"{meta.get('training_rows')} Ames houses (profile `{meta.get('profile')}`, data "
        f"`{meta.get('data_fingerprint')}`, trained {meta.get('trained_at')})."
    )
    if cv:
        st.dataframe(
            pd.DataFrame([{"model": k, "CV RMSE log1p": round(v["mean"], 4), "± std": round(v["std"], 4)}
                          for k, v in cv.items()]),
            hide_index=True,
        )  # fmt: skip
    figure = PROJECT_ROOT / "reports" / "figures" / "permutation_importance.png"
    if figure.is_file():
        st.image(str(figure), caption="Global permutation importance on held-out houses")


def main() -> None:
    st.set_page_config(page_title="Ames house prices", layout="wide")
    st.title("Ames house price estimator")
    try:
        predictor = load_predictor(str(model_path()))
    except UserError as error:
        st.error(error.message)
        if error.hint:
            st.info(error.hint)
        st.stop()
    single, batch, about = st.tabs(["One house", "Batch CSV", "About the model"])
    with single:
        _single_house(predictor)
    with batch:
        _batch(predictor)
    with about:
        _about(predictor)


if __name__ == "__main__":
    main()
