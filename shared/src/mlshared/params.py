"""`params.yaml` loading with named profiles and command-line overrides.

The top level of `params.yaml` is the full configuration (what DVC tracks and what reproduces
the README numbers). `profiles.<name>` holds overrides merged on top, e.g. a `quick` profile
that trains less and writes to `artifacts/quick/` so it never overwrites the published reports.
`--set key.path=value` (repeatable, `mlshared.cli_options.OverridesOpt`) is applied last, after the
profile, and validated by the same pydantic model as the file, so a typo fails the same way.

A project wires it in one line per verb:

    config = load_config(Config, params, profile, overrides)   # overrides: the verb's `--set` values

`overrides_of(config)` returns what `--set` changed, for the run's record (the validated config, which
every project logs as its run's params, already carries the new values).
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError
from pydantic_core import ErrorDetails
from rich.markup import escape

from mlshared.console import UserError, console

FULL = "full"
M = TypeVar("M", bound=BaseModel)
OVERRIDE_EXAMPLE = "--set seed=7 --set section.key=VALUE"


class StrictModel(BaseModel):
    """Base of every params section: an unknown key is an error, not a silently ignored typo."""

    model_config = ConfigDict(extra="forbid")
    # What `--set` changed (dotted key -> value), set by `load_config` on the top-level model; read it with
    # `overrides_of`. A private attribute: it is not a parameter and never appears in `model_dump()`.
    _overrides: dict[str, Any] = PrivateAttr(default_factory=dict)


class TrackingConfig(StrictModel):
    """Where a project's runs go in MLflow and under which name and alias its model is registered."""

    experiment: str
    registered_model: str
    alias: str = Field("champion", description="`champion` for the full profile, `candidate` for quick runs.")


class ValueLoader(yaml.SafeLoader):
    """PyYAML's YAML 1.1 resolver reads `1e-5` as a string (its floats need a dot, `1.0e-5`); YAML 1.2, DVC's
    ruamel.yaml and Python read it as a float, and that is what people type in `params.yaml` and `--set`."""


ValueLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def read_yaml(text: str) -> Any:
    return yaml.load(text, Loader=ValueLoader)  # a SafeLoader subclass: safe


@dataclass(frozen=True)
class Override:
    """One `--set KEY.PATH=VALUE`: the dotted path into the params and the value, parsed as YAML."""

    path: tuple[str, ...]
    value: Any
    text: str

    @property
    def key(self) -> str:
        return ".".join(self.path)


def parse_override(text: str) -> Override:
    """`train.epochs=1` -> Override(("train", "epochs"), 1). The value is YAML: `3`, `3e-5`, `true`, `null`,
    `cls`, `[a, b]`; an empty value is null, as in a YAML file."""
    key, sep, raw = text.partition("=")
    path = tuple(part.strip() for part in key.split("."))
    if not sep or not all(path):
        raise UserError(
            f"--set {text!r} is not KEY.PATH=VALUE.",
            hint=f"Name a key of params.yaml with dots between its sections, e.g. {OVERRIDE_EXAMPLE}.",
        )
    try:
        value = read_yaml(raw)
    except yaml.YAMLError as error:
        problem = str(getattr(error, "problem", None) or error).strip()
        raise UserError(
            f"--set {text!r}: {raw!r} is not a YAML value ({problem}).",
            hint="Quote the value for the shell and YAML, e.g. --set 'model.checkpoint=\"a: b\"'.",
        ) from error
    return Override(path, value, text)


def apply_overrides(data: Mapping[str, Any], overrides: Sequence[Override]) -> dict[str, Any]:
    """A copy of `data` with each override set in order (a later one wins). Missing sections are created, so a
    misspelt key reaches validation and is reported there, exactly as the same typo in the file would be."""
    result = copy.deepcopy(dict(data))
    for override in overrides:
        node = result
        for depth, part in enumerate(override.path[:-1], start=1):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                section = ".".join(override.path[:depth])
                raise UserError(
                    f"--set {override.text}: {section} is a value ({child!r}), not a section with keys.",
                    hint=f"Set it directly: --set {section}=VALUE.",
                )
            node = child
        node[override.path[-1]] = copy.deepcopy(override.value)
    return result


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_params(path: Path, profile: str = FULL) -> dict[str, Any]:
    if not path.is_file():
        raise UserError(f"Parameter file {path} does not exist.", hint="Pass --params PATH or run from the project.")
    raw = read_yaml(path.read_text(encoding="utf-8")) or {}
    profiles: dict[str, Any] = raw.pop("profiles", {}) or {}
    if profile == FULL:
        return dict(raw)
    if profile not in profiles:
        known = ", ".join([FULL, *sorted(profiles)])
        raise UserError(f"Unknown profile {profile!r} in {path}.", hint=f"Known profiles: {known}.")
    return deep_merge(raw, profiles[profile])


def load_config(model: type[M], path: Path, profile: str = FULL, overrides: Sequence[str] | None = None) -> M:
    """Load `path`, merge `profile`, apply the `--set` `overrides`, and validate into `model`, naming any bad key
    (and the `--set` it came from)."""
    parsed = [parse_override(text) for text in overrides or ()]
    data = load_params(path, profile)
    before = data
    if parsed:
        data = apply_overrides(data, parsed)
    try:
        config = model.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(_describe(e, data, parsed) for e in error.errors(include_url=False))
        where = f"{path} (profile {profile}" + (", with --set" if parsed else "") + ")"
        hint = (
            f"Check the key and the value against {path.name}: --set section.key=VALUE, the value as YAML, e.g. "
            f"{OVERRIDE_EXAMPLE}."
            if any(_source(e["loc"], parsed) for e in error.errors())
            else None
        )
        raise UserError(f"Invalid parameters in {where}: {problems}", hint=hint) from error
    if parsed:
        changed = {o.key: _lookup(data, o.path) for o in parsed}
        if isinstance(config, StrictModel):
            config._overrides = changed
        said = ", ".join(f"{o.key}={changed[o.key]!r} (file: {_lookup(before, o.path, 'unset')!r})" for o in parsed)
        console.print(f"[dim]--set {escape(said)}[/]", highlight=False)
    return config


def overrides_of(config: BaseModel) -> dict[str, Any]:
    """What `--set` changed in this config (dotted key -> value); empty when it came from the file alone."""
    return dict(config._overrides) if isinstance(config, StrictModel) else {}


def _lookup(data: Mapping[str, Any], path: Sequence[str], missing: Any = None) -> Any:
    node: Any = data
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return missing
        node = node[part]
    return node


def _source(loc: tuple[int | str, ...], overrides: Sequence[Override]) -> Override | None:
    """The last override that set this location or a section around it (or inside it)."""
    at = tuple(str(p) for p in loc)
    if not at:  # a check across sections (a model validator): no single key to blame
        return None
    for override in reversed(overrides):
        n = min(len(at), len(override.path))
        if at[:n] == override.path[:n]:
            return override
    return None


def _describe(error: ErrorDetails, data: Mapping[str, Any], overrides: Sequence[Override]) -> str:
    loc = tuple(str(p) for p in error["loc"])
    key = ".".join(loc)
    if error["type"] == "extra_forbidden":
        siblings = _lookup(data, loc[:-1], {})
        known = [k for k in siblings if k != loc[-1]] if isinstance(siblings, Mapping) else []
        close = difflib.get_close_matches(loc[-1], known, n=1)
        message = "unknown key" + (f" (did you mean {'.'.join([*loc[:-1], close[0]])}?)" if close else "")
    else:
        message = error["msg"]
    source = _source(error["loc"], overrides)
    return f"{key}: {message}" + (f" (from --set {source.text})" if source else "")


def _own_fields(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every field of `model`, dotted, descending into sections defined in the same module (the project's own)."""
    names = []
    for name, info in model.model_fields.items():
        names.append(f"{prefix}{name}")
        nested = info.annotation
        if isinstance(nested, type) and issubclass(nested, BaseModel) and nested.__module__ == model.__module__:
            names += _own_fields(nested, f"{prefix}{name}.")
    return names


def single_source_gaps(model: type[BaseModel], path: Path) -> list[str]:
    """What breaks "params.yaml is the one source of every value" for a project's config: a field with a
    code default (which a later edit of the default would silently change), or a field the file does
    not set. Empty when the file and the model agree; each project's tests assert that."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    gaps = []
    for name in _own_fields(model):
        node: Any = model
        for part in name.split("."):
            info = node.model_fields[part]
            node = info.annotation
        if not info.is_required():
            gaps.append(f"{name}: has a default in code; set it in {path.name} instead")
        value: Any = raw
        for part in name.split("."):
            if not isinstance(value, dict) or part not in value:
                gaps.append(f"{name}: not set in {path.name}")
                break
            value = value[part]
    return gaps


def without_key(path: Path, dotted: str, out: Path) -> Path:
    """A copy of the params file at `path` without the key at the dotted path (for tests of the error)."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    *parents, last = dotted.split(".")
    node = raw
    for part in parents:
        node = node[part]
    del node[last]
    out.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return out
