"""Dataset registry and verified file resolution (cache -> mirror -> download -> clear error)."""

from mlshared.datasets.registry import ArchiveSource, DatasetSpec, ManualSource, UrlSource, registry
from mlshared.datasets.store import (
    ChecksumMismatchError,
    DataSettings,
    DatasetUnavailableError,
    FileStatus,
    fetch,
    fingerprint,
    get_spec,
    resolve_dir,
    resolve_file,
    sha256_file,
    status,
)

__all__ = [
    "ArchiveSource",
    "ChecksumMismatchError",
    "DataSettings",
    "DatasetSpec",
    "DatasetUnavailableError",
    "FileStatus",
    "ManualSource",
    "UrlSource",
    "fetch",
    "fingerprint",
    "get_spec",
    "registry",
    "resolve_dir",
    "resolve_file",
    "sha256_file",
    "status",
]
