"""The registry of every dataset the portfolio uses: files and checksums, source, licence, citation.

Checksums live in `checksums/<name>.sha256` (sha256sum format). They are the reference copies
the published results were produced on; a file that does not match is never used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class UrlSource:
    """Each file is downloaded from `base_url + relative path`."""

    base_url: str
    kind: str = "url"


@dataclass(frozen=True)
class ArchiveSource:
    """One zip archive whose members, below `strip_prefix`, are the dataset's files."""

    url: str
    strip_prefix: str = ""
    kind: str = "zip"


@dataclass(frozen=True)
class ManualSource:
    """No unattended download is possible (an account is needed, or the files are derived)."""

    instructions: str
    kind: str = "manual"


Source = UrlSource | ArchiveSource | ManualSource


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    title: str
    description: str
    source: Source
    homepage: str
    licence: str
    citation: str
    checksums: dict[str, str] = field(repr=False, default_factory=dict)

    @property
    def files(self) -> list[str]:
        return sorted(self.checksums)


def _load_checksums(name: str) -> dict[str, str]:
    text = resources.files("mlshared.datasets").joinpath("checksums", f"{name}.sha256").read_text("utf-8")
    checksums: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        digest, _, relpath = line.partition("  ")  # sha256sum format; paths may contain spaces
        checksums[relpath] = digest.strip()
    return checksums


_SPECS: tuple[tuple[str, str, str, Source, str, str, str], ...] = (
    (
        "house-prices",
        "Kaggle House Prices (Ames, Iowa)",
        "1460 training houses with SalePrice and 1459 test houses, 79 explanatory variables.",
        ManualSource(
            "The files come from the Kaggle competition 'house-prices-advanced-regression-techniques' "
            "and need a Kaggle account: install the `kaggle` CLI, accept the competition rules, then run "
            "`kaggle competitions download -c house-prices-advanced-regression-techniques` and unzip "
            "train.csv, test.csv, sample_submission.csv and data_description.txt into {target}."
        ),
        "https://www.kaggle.com/competitions/house-prices-advanced-regression-techniques",
        "Kaggle competition terms; De Cock's Ames data is free for educational use",
        "De Cock, D. (2011). Ames, Iowa: Alternative to the Boston Housing Data as an End of Semester "
        "Regression Project. Journal of Statistics Education 19(3).",
    ),
    (
        "telco-churn",
        "IBM Telco Customer Churn",
        "7043 customers, 21 columns, 26.5% churners; 11 blank TotalCharges (tenure 0).",
        UrlSource("https://raw.githubusercontent.com/IBM/telco-customer-churn-on-icp4d/master/data/"),
        "https://github.com/IBM/telco-customer-churn-on-icp4d",
        "Apache-2.0",
        "IBM Cognos Analytics sample data set 'Telco Customer Churn'.",
    ),
    (
        "sst2",
        "Stanford Sentiment Treebank, binary (GLUE SST-2)",
        "train.tsv: 60,614 sentences (a subset of GLUE train); test.tsv: the 872-sentence GLUE dev set.",
        ManualSource(
            "The reference files are derived from GLUE SST-2 (Hugging Face dataset `stanfordnlp/sst2`). "
            "Export the `sentence` and `label` columns as tab-separated files with a header into {target} "
            "(train split -> train.tsv, validation split -> test.tsv); the checksums of the reference "
            "copies identify the exact subset used for the published numbers."
        ),
        "https://huggingface.co/datasets/stanfordnlp/sst2",
        "As GLUE / SST: cite Socher et al. (2013)",
        "Socher, R. et al. (2013). Recursive Deep Models for Semantic Compositionality Over a "
        "Sentiment Treebank. EMNLP.",
    ),
    (
        "hymenoptera",
        "Ants vs bees (PyTorch transfer-learning tutorial)",
        "train: 124 ants + 121 bees, val: 70 ants + 83 bees; ImageNet-derived photos.",
        ArchiveSource("https://download.pytorch.org/tutorial/hymenoptera_data.zip", "hymenoptera_data/"),
        "https://pytorch.org/tutorials/beginner/transfer_learning_tutorial.html",
        "ImageNet terms of access (research and education)",
        "Deng, J. et al. (2009). ImageNet: A Large-Scale Hierarchical Image Database. CVPR.",
    ),
    (
        "fraud-sim",
        "Simulated card transactions (Fraud Detection Handbook)",
        "1,466,282 transactions 2018-04-01..2018-08-31, 12,134 frauds from three scenarios.",
        ManualSource(
            "Download the daily pickles of GitHub repository Fraud-Detection-Handbook/simulated-data-raw "
            "(or regenerate them with the handbook's simulator), concatenate them and save them as "
            "{target}/transactions.parquet."
        ),
        "https://fraud-detection-handbook.github.io/fraud-detection-handbook/",
        "As the Fraud Detection Handbook repositories",
        "Le Borgne, Y.-A., Siblini, W., Lebichot, B., Bontempi, G. (2022). Reproducible Machine "
        "Learning for Credit Card Fraud Detection - Practical Handbook. Universite Libre de Bruxelles.",
    ),
    (
        "squad",
        "SQuAD v2.0 dev set",
        "28 Wikipedia articles, 1383 paragraphs, 9599 questions (2453 unanswerable).",
        ManualSource(
            "Download dev-v2.0.json from https://rajpurkar.github.io/SQuAD-explorer/ and save it as "
            "{target}/dev.json. The reference copy was rebuilt from the explorer pages, so the official "
            "file has a different checksum: use the mirror to reproduce the published numbers."
        ),
        "https://rajpurkar.github.io/SQuAD-explorer/",
        "CC BY-SA 4.0",
        "Rajpurkar, P., Jia, R., Liang, P. (2018). Know What You Don't Know: Unanswerable Questions for SQuAD. ACL.",
    ),
)


@cache
def registry() -> dict[str, DatasetSpec]:
    """Every registered dataset by name."""
    return {
        name: DatasetSpec(name, title, description, source, homepage, licence, citation, _load_checksums(name))
        for name, title, description, source, homepage, licence, citation in _SPECS
    }
