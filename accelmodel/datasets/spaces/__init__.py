"""Search spaces the builder knows by name: one module per space, registered here.

To add a space, write ``spaces/<name>.py`` with a `SearchSpace` subclass (see `base`) and a module-level
``SPACE`` instance, then add the module to `_BUILT_IN` below (or call `register_space` from your own code).
"""

from __future__ import annotations

import importlib

from .base import SearchSpace, Selection

#: Modules of the built-in spaces, in the order errors list them.
_BUILT_IN = ("nasbench201", "fbnet", "darts")

#: name -> SearchSpace, the built-in ones first.
SPACES: dict[str, SearchSpace] = {}


def register_space(space: SearchSpace) -> SearchSpace:
    """Make `space` buildable by its name (`build(space.name, ...)`)."""
    if not isinstance(space, SearchSpace):
        raise TypeError(f"register_space takes a SearchSpace, got {type(space).__name__}")
    if space.name in SPACES and type(SPACES[space.name]) is not type(space):
        raise ValueError(f"a different search space named {space.name!r} is registered already")
    SPACES[space.name] = space
    return space


def get_space(name) -> SearchSpace:
    if not isinstance(name, str) or name not in SPACES:
        raise ValueError(f"space {name!r} is not one of {list(SPACES)} (or an iterable of LayerGraphs)")
    return SPACES[name]


for _module in _BUILT_IN:
    register_space(importlib.import_module(f"{__name__}.{_module}").SPACE)

__all__ = ["SPACES", "SearchSpace", "Selection", "get_space", "register_space"]
