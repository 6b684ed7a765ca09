"""Architecture specs: YAML files loaded into `ArchSpec`, checked field by field.

A spec is data. Its top level names the `paradigm` (which mapper reads it), a one-line `description`, and
the paradigm's parameters. Each number in a shipped spec carries its source in a YAML comment. This module
checks the common fields; a mapper's `configure` checks its paradigm's fields with `ArchSpec.get`, so every
error names the spec, the field, the value and what is allowed.

Untrusted input is refused here, once, for every way a spec arrives (YAML file, dict, budget/overrides):
YAML is read with plain types only (null, bool, int, float, str, list, mapping; no ``!!python/...`` or other
tags), aliases may not expand a spec beyond `MAX_SPEC_VALUES` values, duplicate keys are errors, and every
value is a finite number within int64, a string, a bool, a list or a mapping (numpy scalars become Python
numbers). YAML errors name the file and the line.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
import yaml


class SpecError(ValueError):
    """A spec field is missing, of the wrong type or out of range."""


_MISSING = object()

#: Most values (scalars, lists and mappings, counted after alias expansion) a spec may hold: the built-in specs
#: hold a few hundred; a YAML alias bomb expands a 1 KB file to 10^8 and more.
MAX_SPEC_VALUES = 100_000
#: Largest spec file read (bytes): the built-in specs are under 20 KB.
MAX_SPEC_BYTES = 1 << 20
#: Integers in a spec must fit the mappers' 64-bit arithmetic.
MAX_SPEC_INT = 2**63 - 1

#: Fields no mapper reads: the spec's identity (read by the loader) and its per-workload-space overrides (each
#: path checked to exist at load, and read by the mapper once `for_space` applies them).
SPEC_METADATA = ("name", "paradigm", "description", "search_space_overrides")
#: Sections a spec may hold for another reader than its mapper: the accelerator search space that
#: `accelmodel.search.accelerators` sweeps (checked there, point by point, through the mapper's `configure`).
SECTIONS_READ_ELSEWHERE = ("search_space",)


def clean_data(data: Any, where: str) -> Any:
    """`data` as plain spec data (see `_clean`), at most MAX_SPEC_VALUES values, no cycles, bounded nesting."""
    try:
        return _clean(data, "", where, [MAX_SPEC_VALUES], set())
    except RecursionError:
        raise SpecError(f"{where}: the data nest too deeply; a spec is small data") from None


def _clean(value: Any, path: str, where: str, budget: list, open_ids: set) -> Any:
    """`value` as plain spec data: numpy scalars become Python numbers, tuples and arrays become lists; a
    non-finite float, an int beyond int64, a non-string key or any other type is a SpecError naming `path`.
    `budget` ([values left]) bounds the expanded size of shared Python objects; `open_ids` catches cycles."""
    budget[0] -= 1
    if budget[0] < 0:
        raise SpecError(f"{where}: more than {MAX_SPEC_VALUES:,} values; a spec is small data")
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        if abs(value) > MAX_SPEC_INT:
            raise SpecError(f"{where}: field {path!r} is {value}; integers must be within +-{MAX_SPEC_INT} (int64)")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SpecError(f"{where}: field {path!r} is {value}; every number must be finite")
        return value
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple, Mapping)):
        if id(value) in open_ids:
            raise SpecError(f"{where}: field {path!r} contains itself (a cycle)")
        open_ids.add(id(value))
        if isinstance(value, Mapping):
            out: Any = {}
            for key, v in value.items():
                if not isinstance(key, str) or not key:
                    raise SpecError(f"{where}: field {path!r} has key {key!r}; keys must be non-empty strings")
                out[key] = _clean(v, f"{path}.{key}" if path else key, where, budget, open_ids)
        else:
            out = [_clean(v, f"{path}[{i}]", where, budget, open_ids) for i, v in enumerate(value)]
        open_ids.discard(id(value))
        return out
    raise SpecError(f"{where}: field {path!r} is {value!r} ({type(value).__name__}); a spec holds numbers, "
                    "strings, booleans, lists and mappings")


@dataclass(frozen=True)
class ArchSpec:
    name: str
    paradigm: str
    description: str
    data: dict = field(repr=False)
    source: str = ""

    def __post_init__(self):
        # Every spec, however made (YAML, dict, overrides, by hand), holds plain, finite, bounded data.
        if not isinstance(self.name, str) or not self.name:
            raise SpecError(f"spec name must be a non-empty string, got {self.name!r}")
        if not isinstance(self.data, Mapping):
            raise SpecError(f"spec {self.name!r}: data must be a mapping, got {type(self.data).__name__}")
        object.__setattr__(self, "data", clean_data(self.data, f"spec {self.name!r}"))
        # dotted paths `get` and `has` were asked for: `refuse_unread` compares them with the fields the spec holds
        object.__setattr__(self, "_read_paths", set())

    @property
    def digest(self) -> str:
        """Content hash of the spec's data: caches key on it, so an edited spec never reuses stale costs."""
        blob = json.dumps(self.data, sort_keys=True, default=str).encode()
        return hashlib.sha1(blob).hexdigest()[:16]

    def has(self, path: str) -> bool:
        """Whether the dotted `path` exists (for optional sections)."""
        self._read_paths.add(path)
        node: Any = self.data
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return True

    def get(self, path: str, kind: type | tuple = float, *, min: float | None = None, max: float | None = None,
            choices=None, default: Any = _MISSING, exclusive_min: bool = False) -> Any:
        """The value at dotted `path`, checked. Ints are accepted where floats are asked for."""
        self._read_paths.add(path)
        node: Any = self.data
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                if default is not _MISSING:
                    self._refuse_near_miss(path, part, node)
                    return default
                raise SpecError(f"spec {self.name!r}: required field {path!r} is missing")
            node = node[part]
        value = node.item() if isinstance(node, np.generic) else node
        kinds = kind if isinstance(kind, tuple) else (kind,)
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if not ok and float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            names = " or ".join(k.__name__ for k in kinds)
            raise SpecError(f"spec {self.name!r}: field {path!r} must be {names}, got {value!r} ({type(value).__name__})")
        if isinstance(value, float) and not math.isfinite(value):
            raise SpecError(f"spec {self.name!r}: field {path!r} is {value}; it must be a finite number")
        if choices is not None and value not in choices:
            raise SpecError(f"spec {self.name!r}: field {path!r} is {value!r}; allowed: {list(choices)}")
        if min is not None and (value <= min if exclusive_min else value < min):
            op = ">" if exclusive_min else ">="
            raise SpecError(f"spec {self.name!r}: field {path!r} is {value!r}; it must be {op} {min}")
        if max is not None and value > max:
            raise SpecError(f"spec {self.name!r}: field {path!r} is {value!r}; it must be <= {max}")
        return value

    def _refuse_near_miss(self, path: str, part: str, node: Any) -> None:
        """An optional field is absent: a key spelled almost like it is a typo that would otherwise be ignored
        silently (the default used instead of the value the user wrote)."""
        if isinstance(node, dict):
            close = difflib.get_close_matches(part, [k for k in node if k != part], n=1, cutoff=0.8)
            if close:
                raise SpecError(f"spec {self.name!r}: key {close[0]!r} is not a field this mapper reads; did you mean "
                                f"{part!r} (for {path!r})?")

    def refuse_unread(self, reader: str) -> None:
        """Refuse every field that `reader` (a mapper's `configure`, called last in it) did not read: an unknown
        key, a misspelt one or one that the spec's own options leave unused would otherwise be ignored silently.
        Metadata (`SPEC_METADATA`) and `SECTIONS_READ_ELSEWHERE` are exempt."""
        read = self._read_paths
        unread = []

        def walk(node: dict, prefix: str) -> None:
            for key, value in node.items():
                path = prefix + key
                if path in read:
                    continue
                if isinstance(value, dict) and value and any(r.startswith(path + ".") for r in read):
                    walk(value, path + ".")
                else:
                    unread.append(path)

        walk({k: v for k, v in self.data.items() if k not in SPEC_METADATA + SECTIONS_READ_ELSEWHERE}, "")
        if unread:
            sections = {path.split(".")[0] for path in unread if "." in path}
            known = sorted(r for r in read if r.split(".")[0] in sections)
            if any("." not in path for path in unread):  # an unknown section: name the sections it reads
                known += sorted({r.split(".")[0] for r in read} - set(known))
            hints = []
            for path in unread:
                close = difflib.get_close_matches(path, known, n=1, cutoff=0.8)
                hints.append(f"{path!r} (did you mean {close[0]!r}?)" if close else repr(path))
            raise SpecError(f"spec {self.name!r}: {reader} does not read field(s) {', '.join(hints)} with this "
                            f"spec's options; remove them or fix their names (fields it reads there: {known})")

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
        if overrides is None:
            return self
        if not isinstance(overrides, Mapping):
            raise SpecError(f"spec {self.name!r}: overrides (budget) must be a dict of dotted field path -> value, "
                            f"got {overrides!r} ({type(overrides).__name__})")
        if not overrides:
            return self
        data = copy.deepcopy(self.data)
        for path, value in overrides.items():
            if not isinstance(path, str) or not path:
                raise SpecError(f"spec {self.name!r}: override key {path!r} must be a dotted field path (a string)")
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


# ---- reading YAML ------------------------------------------------------------------------------------

_CORE_TAGS = ("null", "bool", "int", "float", "str", "seq", "map")


class _SpecLoader(yaml.SafeLoader):
    """PyYAML's safe loader narrowed to plain data: the core types only (a timestamp-looking value stays a
    string; ``!!binary``, ``!!set``, ``!!python/...`` and every other tag are refused), no duplicate keys,
    no non-finite floats, and alias expansion bounded by `MAX_SPEC_VALUES` (checked on the composed node
    graph, before anything is built)."""

    yaml_constructors = {f"tag:yaml.org,2002:{t}": yaml.SafeLoader.yaml_constructors[f"tag:yaml.org,2002:{t}"]
                         for t in _CORE_TAGS}
    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers
                if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:value")]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}

    def compose_document(self):
        node = super().compose_document()
        _check_expansion(node)
        return node

    def construct_undefined(self, node):
        raise yaml.constructor.ConstructorError(
            None, None, f"tag {node.tag!r} is not allowed in a spec (plain YAML values only: numbers, strings, "
            "booleans, null, lists and mappings)", node.start_mark)

    def construct_yaml_float(self, node):
        value = super().construct_yaml_float(node)
        if not math.isfinite(value):
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value!r} is not a finite number; every number in a spec must be finite",
                node.start_mark)
        return value

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                key = (key_node.tag, key_node.value)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        "while reading a mapping", node.start_mark,
                        f"duplicate key {key_node.value!r} (first at line {seen[key].line + 1})", key_node.start_mark)
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


_SpecLoader.add_constructor("tag:yaml.org,2002:float", _SpecLoader.construct_yaml_float)
_SpecLoader.add_constructor(None, _SpecLoader.construct_undefined)


def _check_expansion(root) -> None:
    """Refuse a node graph whose aliases expand beyond MAX_SPEC_VALUES values or refer to themselves."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise yaml.composer.ComposerError(None, None, "an alias refers to a node that contains it (a cycle)",
                                              node.start_mark)
        open_nodes.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        open_nodes.discard(key)
        if total > MAX_SPEC_VALUES:
            raise yaml.composer.ComposerError(
                None, None, f"aliases expand this node to more than {MAX_SPEC_VALUES:,} values; a spec is small data",
                node.start_mark)
        sizes[key] = total
        return total

    if root is not None:
        size(root)


def parse_yaml(text: "str | bytes", source: str) -> Any:
    """The data of YAML `text` read with `_SpecLoader`; any problem is one SpecError naming `source` and,
    where YAML knows it, the line and column."""
    if isinstance(text, bytes):
        if len(text) > MAX_SPEC_BYTES:
            raise SpecError(f"spec file {source!r} is {len(text):,} bytes; a spec is at most {MAX_SPEC_BYTES:,}")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SpecError(f"spec file {source!r} is not a UTF-8 text (YAML) file: byte 0x{text[exc.start]:02x} "
                            f"at offset {exc.start}") from None
    try:
        return yaml.load(text, Loader=_SpecLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        what = "; ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise SpecError(f"spec file {source!r}{at}: {what}") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"spec file {source!r}: {exc}") from None
    except (ValueError, RecursionError) as exc:  # e.g. an int literal beyond Python's digit limit, deep nesting
        raise SpecError(f"spec file {source!r}: {type(exc).__name__}: {exc}") from None


def _builtin_dir():
    return resources.files("accelmodel.arch_specs")


def available_specs() -> dict[str, str]:
    """Built-in spec name -> one-line description."""
    out = {}
    for entry in sorted(_builtin_dir().iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            data = parse_yaml(entry.read_bytes(), f"accelmodel/arch_specs/{entry.name}")
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
    if isinstance(arch, Mapping):
        return _from_dict(arch, "<dict>", "custom")
    if not isinstance(arch, (str, os.PathLike)) or not os.fspath(arch):
        raise SpecError(f"arch must be a built-in spec name {sorted(available_specs())}, a YAML path, a dict or an "
                        f"ArchSpec; got {arch!r} ({type(arch).__name__})")
    path = os.fspath(arch)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if path.endswith((".yaml", ".yml")) or os.sep in path or isinstance(arch, os.PathLike):
        if not os.path.exists(path):
            raise SpecError(f"spec file {path!r} does not exist")
        if not os.path.isfile(path):
            raise SpecError(f"spec file {path!r} is not a regular file")
        with open(path, "rb") as fh:
            raw = fh.read(MAX_SPEC_BYTES + 1)
        return _from_dict(parse_yaml(raw, path), path, os.path.splitext(os.path.basename(path))[0])
    entry = _builtin_dir() / f"{path}.yaml"
    if not entry.is_file():
        raise SpecError(f"unknown arch {path!r}; available: {sorted(available_specs())} (or give a YAML path)")
    source = f"accelmodel/arch_specs/{path}.yaml"
    return _from_dict(parse_yaml(entry.read_bytes(), source), source, path)
