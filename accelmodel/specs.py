"""Architecture specs: YAML files loaded into `ArchSpec`, checked field by field.

A spec is data. Its top level names the `paradigm` (which mapper reads it), a one-line `description`, and
the paradigm's parameters. Each number in a shipped spec carries its source in a YAML comment. This module
checks the common fields; a mapper's `configure` checks its paradigm's fields with `ArchSpec.get`, so every
error names the spec, the field, the value and what is allowed.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml


class SpecError(ValueError):
    """A spec field is missing, of the wrong type or out of range."""


_MISSING = object()


@dataclass(frozen=True)
class ArchSpec:
    name: str
    paradigm: str
    description: str
    data: dict = field(repr=False)
    source: str = ""

    @property
    def digest(self) -> str:
        """Content hash of the spec's data: caches key on it, so an edited spec never reuses stale costs."""
        blob = json.dumps(self.data, sort_keys=True, default=str).encode()
        return hashlib.sha1(blob).hexdigest()[:16]

    def has(self, path: str) -> bool:
        """Whether the dotted `path` exists (for optional sections)."""
        node: Any = self.data
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return True

    def get(self, path: str, kind: type | tuple = float, *, min: float | None = None, max: float | None = None,
            choices=None, default: Any = _MISSING, exclusive_min: bool = False) -> Any:
        """The value at dotted `path`, checked. Ints are accepted where floats are asked for."""
        node: Any = self.data
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                if default is not _MISSING:
                    return default
                raise SpecError(f"spec {self.name!r}: required field {path!r} is missing")
            node = node[part]
        value = node
        kinds = kind if isinstance(kind, tuple) else (kind,)
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if not ok and float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            names = " or ".join(k.__name__ for k in kinds)
            raise SpecError(f"spec {self.name!r}: field {path!r} must be {names}, got {value!r} ({type(value).__name__})")
        if choices is not None and value not in choices:
            raise SpecError(f"spec {self.name!r}: field {path!r} is {value!r}; allowed: {list(choices)}")
        if min is not None and (value <= min if exclusive_min else value < min):
            op = ">" if exclusive_min else ">="
            raise SpecError(f"spec {self.name!r}: field {path!r} is {value!r}; it must be {op} {min}")
        if max is not None and value > max:
            raise SpecError(f"spec {self.name!r}: field {path!r} is {value!r}; it must be <= {max}")
        return value

    def for_space(self, space: str | None) -> "ArchSpec":
        """The spec as it applies to networks of workload `space` (``LayerGraph.meta["space"]``): its
        ``search_space_overrides`` entry for that space (dotted paths -> values) applied and the section dropped,
        or itself. A spec that emulates a benchmark whose numbers came from different set-ups per search space
        says so there."""
        overrides = (self.data.get("search_space_overrides") or {}).get(space)
        if not overrides:
            return self
        resolved = self.with_overrides(overrides)
        del resolved.data["search_space_overrides"]  # resolved: for_space on it is itself
        return resolved

    def with_overrides(self, overrides: dict[str, Any] | None, name: str | None = None) -> "ArchSpec":
        """A copy with dotted-path fields replaced; each path must exist already (typos are errors)."""
        if not overrides:
            return self
        data = copy.deepcopy(self.data)
        for path, value in overrides.items():
            node = data
            parts = path.split(".")
            for part in parts[:-1]:
                if not isinstance(node, dict) or part not in node:
                    raise SpecError(f"spec {self.name!r}: cannot override {path!r}: no field {part!r}")
                node = node[part]
            if not isinstance(node, dict) or parts[-1] not in node:
                known = sorted(node) if isinstance(node, dict) else []
                raise SpecError(f"spec {self.name!r}: cannot override unknown field {path!r}; known here: {known}")
            node[parts[-1]] = value
        return ArchSpec(name or self.name, self.paradigm, self.description, data, self.source)


def _builtin_dir():
    return resources.files("accelmodel.arch_specs")


def available_specs() -> dict[str, str]:
    """Built-in spec name -> one-line description."""
    out = {}
    for entry in sorted(_builtin_dir().iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            data = yaml.safe_load(entry.read_text())
            out[entry.name[:-5]] = (data or {}).get("description", "")
    return out


def _from_dict(data: Any, source: str, fallback_name: str) -> ArchSpec:
    if not isinstance(data, dict):
        raise SpecError(f"spec {source!r}: top level must be a mapping, got {type(data).__name__}")
    name = data.get("name", fallback_name)
    if not isinstance(name, str) or not name:
        raise SpecError(f"spec {source!r}: field 'name' must be a non-empty string, got {name!r}")
    paradigm = data.get("paradigm")
    if not isinstance(paradigm, str):
        raise SpecError(f"spec {name!r}: required field 'paradigm' is missing or not a string (got {paradigm!r})")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise SpecError(f"spec {name!r}: field 'description' must be a string")
    spec = ArchSpec(name, paradigm, description, data, source)
    _check_space_overrides(spec)
    return spec


def _check_space_overrides(spec: ArchSpec) -> None:
    """`search_space_overrides` maps known workload spaces to dotted-path overrides of existing fields."""
    from .workloads.graph import WORKLOAD_SPACES

    table = spec.data.get("search_space_overrides")
    if table is None:
        return
    if not isinstance(table, dict):
        raise SpecError(f"spec {spec.name!r}: field 'search_space_overrides' must map workload spaces to overrides")
    for space, overrides in table.items():
        if space not in WORKLOAD_SPACES:
            raise SpecError(f"spec {spec.name!r}: search_space_overrides names unknown workload space {space!r}; "
                            f"known: {list(WORKLOAD_SPACES)}")
        if not isinstance(overrides, dict) or not overrides:
            raise SpecError(f"spec {spec.name!r}: search_space_overrides.{space} must map dotted field paths to values")
        spec.with_overrides(overrides)  # every path must name an existing field


def load_spec(arch: "str | os.PathLike | ArchSpec | dict") -> ArchSpec:
    """A spec from a built-in name (`eyeriss`), a YAML path, a dict, or an ArchSpec (returned as is)."""
    if isinstance(arch, ArchSpec):
        return arch
    if isinstance(arch, dict):
        return _from_dict(arch, "<dict>", "custom")
    path = os.fspath(arch)
    if path.endswith((".yaml", ".yml")) or os.sep in path:
        if not os.path.exists(path):
            raise SpecError(f"spec file {path!r} does not exist")
        with open(path) as fh:
            return _from_dict(yaml.safe_load(fh), path, os.path.splitext(os.path.basename(path))[0])
    entry = _builtin_dir() / f"{path}.yaml"
    if not entry.is_file():
        raise SpecError(f"unknown arch {path!r}; available: {sorted(available_specs())} (or give a YAML path)")
    return _from_dict(yaml.safe_load(entry.read_text()), f"accelmodel/arch_specs/{path}.yaml", path)
