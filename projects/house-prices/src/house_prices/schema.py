"""The input contract for a house: every column of the Kaggle files, its type and its valid values.

Allowed categories are the codes of `data_description.txt`. The Kaggle CSVs spell a few codes
differently from that file (`NAmes` for `Names`, `C (all)` for `C`, ...); `ALIASES` maps those
to the documented spelling when a file is read, so the model sees one spelling.

Hard checks (wrong type, unknown category, impossible value such as a negative area) reject
the input with a message naming the column, the rows and the allowed values. Plausibility
checks (a garage built after the sale, an area outside what the model saw) only warn: the
Kaggle test file itself contains `GarageYrBlt = 2207`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import pandas as pd
import pandera.pandas as pa

ID: Final = "Id"
TARGET: Final = "SalePrice"

QUALITY = ("Ex", "Gd", "TA", "Fa", "Po")

# Categorical columns and their documented codes (NA = "none of it", e.g. no alley, no garage).
CATEGORIES: Final[dict[str, tuple[str, ...]]] = {
    "MSSubClass": ("20", "30", "40", "45", "50", "60", "70", "75", "80", "85", "90", "120", "150", "160", "180", "190"),
    "MSZoning": ("A", "C", "FV", "I", "RH", "RL", "RP", "RM"),
    "Street": ("Grvl", "Pave"),
    "Alley": ("Grvl", "Pave"),
    "LotShape": ("Reg", "IR1", "IR2", "IR3"),
    "LandContour": ("Lvl", "Bnk", "HLS", "Low"),
    "Utilities": ("AllPub", "NoSewr", "NoSeWa", "ELO"),
    "LotConfig": ("Inside", "Corner", "CulDSac", "FR2", "FR3"),
    "LandSlope": ("Gtl", "Mod", "Sev"),
    "Neighborhood": (
        "Blmngtn", "Blueste", "BrDale", "BrkSide", "ClearCr", "CollgCr", "Crawfor", "Edwards", "Gilbert",
        "IDOTRR", "MeadowV", "Mitchel", "Names", "NoRidge", "NPkVill", "NridgHt", "NWAmes", "OldTown",
        "SWISU", "Sawyer", "SawyerW", "Somerst", "StoneBr", "Timber", "Veenker",
    ),
    "Condition1": ("Artery", "Feedr", "Norm", "RRNn", "RRAn", "PosN", "PosA", "RRNe", "RRAe"),
    "Condition2": ("Artery", "Feedr", "Norm", "RRNn", "RRAn", "PosN", "PosA", "RRNe", "RRAe"),
    "BldgType": ("1Fam", "2FmCon", "Duplx", "TwnhsE", "TwnhsI"),
    "HouseStyle": ("1Story", "1.5Fin", "1.5Unf", "2Story", "2.5Fin", "2.5Unf", "SFoyer", "SLvl"),
    "RoofStyle": ("Flat", "Gable", "Gambrel", "Hip", "Mansard", "Shed"),
    "RoofMatl": ("ClyTile", "CompShg", "Membran", "Metal", "Roll", "Tar&Grv", "WdShake", "WdShngl"),
    "Exterior1st": (
        "AsbShng", "AsphShn", "BrkComm", "BrkFace", "CBlock", "CemntBd", "HdBoard", "ImStucc", "MetalSd",
        "Other", "Plywood", "PreCast", "Stone", "Stucco", "VinylSd", "Wd Sdng", "WdShing",
    ),
    "Exterior2nd": (
        "AsbShng", "AsphShn", "BrkComm", "BrkFace", "CBlock", "CemntBd", "HdBoard", "ImStucc", "MetalSd",
        "Other", "Plywood", "PreCast", "Stone", "Stucco", "VinylSd", "Wd Sdng", "WdShing",
    ),
    "MasVnrType": ("BrkCmn", "BrkFace", "CBlock", "None", "Stone"),
    "ExterQual": QUALITY,
    "ExterCond": QUALITY,
    "Foundation": ("BrkTil", "CBlock", "PConc", "Slab", "Stone", "Wood"),
    "BsmtQual": QUALITY,
    "BsmtCond": QUALITY,
    "BsmtExposure": ("Gd", "Av", "Mn", "No"),
    "BsmtFinType1": ("GLQ", "ALQ", "BLQ", "Rec", "LwQ", "Unf"),
    "BsmtFinType2": ("GLQ", "ALQ", "BLQ", "Rec", "LwQ", "Unf"),
    "Heating": ("Floor", "GasA", "GasW", "Grav", "OthW", "Wall"),
    "HeatingQC": QUALITY,
    "CentralAir": ("N", "Y"),
    "Electrical": ("SBrkr", "FuseA", "FuseF", "FuseP", "Mix"),
    "KitchenQual": QUALITY,
    "Functional": ("Typ", "Min1", "Min2", "Mod", "Maj1", "Maj2", "Sev", "Sal"),
    "FireplaceQu": QUALITY,
    "GarageType": ("2Types", "Attchd", "Basment", "BuiltIn", "CarPort", "Detchd"),
    "GarageFinish": ("Fin", "RFn", "Unf"),
    "GarageQual": QUALITY,
    "GarageCond": QUALITY,
    "PavedDrive": ("Y", "P", "N"),
    "PoolQC": ("Ex", "Gd", "TA", "Fa"),
    "Fence": ("GdPrv", "MnPrv", "GdWo", "MnWw"),
    "MiscFeature": ("Elev", "Gar2", "Othr", "Shed", "TenC"),
    "SaleType": ("WD", "CWD", "VWD", "New", "COD", "Con", "ConLw", "ConLI", "ConLD", "Oth"),
    "SaleCondition": ("Normal", "Abnorml", "AdjLand", "Alloca", "Family", "Partial"),
}  # fmt: skip

# Kaggle-file spelling -> data_description.txt spelling.
ALIASES: Final[dict[str, dict[str, str]]] = {
    "MSZoning": {"C (all)": "C"},
    "Neighborhood": {"NAmes": "Names"},
    "BldgType": {"2fmCon": "2FmCon", "Duplex": "Duplx", "Twnhs": "TwnhsI"},
    "Exterior2nd": {"Brk Cmn": "BrkComm", "CmentBd": "CemntBd", "Wd Shng": "WdShing"},
}

# Numeric columns: (hard minimum, hard maximum). Outside these the value is impossible.
NUMERIC: Final[dict[str, tuple[float, float]]] = {
    "LotFrontage": (0, 10_000), "LotArea": (1, 10_000_000),
    "OverallQual": (1, 10), "OverallCond": (1, 10),
    "YearBuilt": (1700, 2100), "YearRemodAdd": (1700, 2100),
    "MasVnrArea": (0, 100_000),
    "BsmtFinSF1": (0, 100_000), "BsmtFinSF2": (0, 100_000), "BsmtUnfSF": (0, 100_000), "TotalBsmtSF": (0, 100_000),
    "1stFlrSF": (1, 100_000), "2ndFlrSF": (0, 100_000), "LowQualFinSF": (0, 100_000), "GrLivArea": (1, 100_000),
    "BsmtFullBath": (0, 20), "BsmtHalfBath": (0, 20), "FullBath": (0, 20), "HalfBath": (0, 20),
    "BedroomAbvGr": (0, 50), "KitchenAbvGr": (0, 20), "TotRmsAbvGrd": (0, 100), "Fireplaces": (0, 20),
    "GarageYrBlt": (1700, 2300), "GarageCars": (0, 50), "GarageArea": (0, 100_000),
    "WoodDeckSF": (0, 100_000), "OpenPorchSF": (0, 100_000), "EnclosedPorch": (0, 100_000),
    "3SsnPorch": (0, 100_000), "ScreenPorch": (0, 100_000), "PoolArea": (0, 100_000),
    "MiscVal": (0, 10_000_000), "MoSold": (1, 12), "YrSold": (1900, 2100),
}  # fmt: skip

INTEGER_COLUMNS: Final = frozenset(
    {"OverallQual", "OverallCond", "YearBuilt", "YearRemodAdd", "MoSold", "YrSold", "FullBath", "HalfBath",
     "BedroomAbvGr", "KitchenAbvGr", "TotRmsAbvGrd", "Fireplaces"}
)  # fmt: skip

# Columns that must be present and non-missing in every row (everything else may be NA).
REQUIRED_VALUES: Final = frozenset(
    {"Neighborhood", "OverallQual", "OverallCond", "YearBuilt", "YearRemodAdd", "GrLivArea", "1stFlrSF",
     "2ndFlrSF", "LotArea", "MoSold", "YrSold", "FullBath", "BedroomAbvGr", "TotRmsAbvGrd"}
)  # fmt: skip

FEATURES: Final[tuple[str, ...]] = (
    "MSSubClass", "MSZoning", "LotFrontage", "LotArea", "Street", "Alley", "LotShape", "LandContour",
    "Utilities", "LotConfig", "LandSlope", "Neighborhood", "Condition1", "Condition2", "BldgType", "HouseStyle",
    "OverallQual", "OverallCond", "YearBuilt", "YearRemodAdd", "RoofStyle", "RoofMatl", "Exterior1st",
    "Exterior2nd", "MasVnrType", "MasVnrArea", "ExterQual", "ExterCond", "Foundation", "BsmtQual", "BsmtCond",
    "BsmtExposure", "BsmtFinType1", "BsmtFinSF1", "BsmtFinType2", "BsmtFinSF2", "BsmtUnfSF", "TotalBsmtSF",
    "Heating", "HeatingQC", "CentralAir", "Electrical", "1stFlrSF", "2ndFlrSF", "LowQualFinSF", "GrLivArea",
    "BsmtFullBath", "BsmtHalfBath", "FullBath", "HalfBath", "BedroomAbvGr", "KitchenAbvGr", "KitchenQual",
    "TotRmsAbvGrd", "Functional", "Fireplaces", "FireplaceQu", "GarageType", "GarageYrBlt", "GarageFinish",
    "GarageCars", "GarageArea", "GarageQual", "GarageCond", "PavedDrive", "WoodDeckSF", "OpenPorchSF",
    "EnclosedPorch", "3SsnPorch", "ScreenPorch", "PoolArea", "PoolQC", "Fence", "MiscFeature", "MiscVal",
    "MoSold", "YrSold", "SaleType", "SaleCondition",
)  # fmt: skip

assert set(FEATURES) == set(CATEGORIES) | set(NUMERIC), "every feature is either categorical or numeric"


def _numeric_column(name: str) -> pa.Column:
    low, high = NUMERIC[name]
    return pa.Column(
        float,
        checks=[pa.Check.in_range(low, high, error=f"must be between {low:g} and {high:g}")],
        nullable=name not in REQUIRED_VALUES,
        coerce=True,
    )


def _categorical_column(name: str) -> pa.Column:
    codes = CATEGORIES[name]
    return pa.Column(
        str,
        checks=[pa.Check.isin(codes, error=f"must be one of {', '.join(codes)}")],
        nullable=name not in REQUIRED_VALUES,
        coerce=True,
    )


@dataclass(frozen=True)
class Plausibility:
    """A value that is possible but suspicious: reported as a warning, never rejected."""

    message: str
    columns: tuple[str, ...]
    suspicious: Callable[[pd.DataFrame], pd.Series]


PLAUSIBILITY: Final = (
    Plausibility("GarageYrBlt is after the sale year (a typo?)", ("GarageYrBlt", "YrSold"),
                 lambda df: df["GarageYrBlt"] > df["YrSold"] + 1),
    Plausibility("YearBuilt is after the sale year", ("YearBuilt", "YrSold"),
                 lambda df: df["YearBuilt"] > df["YrSold"] + 1),
    Plausibility("YearRemodAdd is before YearBuilt", ("YearRemodAdd", "YearBuilt"),
                 lambda df: df["YearRemodAdd"] < df["YearBuilt"]),
    Plausibility("GrLivArea above 6000 sq ft is far outside the training data", ("GrLivArea",),
                 lambda df: df["GrLivArea"] > 6000),
)  # fmt: skip


def input_schema(require_target: bool = False, require_id: bool = False) -> pa.DataFrameSchema:
    """The schema a file of houses must satisfy; extra columns are allowed and ignored."""
    columns: dict[str, pa.Column] = {
        name: _numeric_column(name) if name in NUMERIC else _categorical_column(name) for name in FEATURES
    }
    if require_id:
        columns[ID] = pa.Column(int, checks=pa.Check.ge(0), unique=True, coerce=True)
    if require_target:
        columns[TARGET] = pa.Column(float, checks=pa.Check.gt(0, error="must be a positive price"), coerce=True)
    return pa.DataFrameSchema(columns, strict=False, name="houses")
