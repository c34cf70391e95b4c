"""A cache keyed by object identity, for things derived from configuration objects that are not hashable."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def by_identity(store: dict, obj: object, build: Callable[[object], T], cap: int) -> T:
    """build(obj), made once per object: store maps id(obj) to (obj, result) and is emptied at cap entries."""
    cached = store.get(id(obj))
    if cached is not None and cached[0] is obj:  # the same object, not a new one at a reused address
        return cached[1]
    result = build(obj)
    if len(store) >= cap:
        store.clear()
    store[id(obj)] = (obj, result)
    return result
