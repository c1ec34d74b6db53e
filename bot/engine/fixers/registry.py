"""The registry: bandit test id → the fixers that handle it.

Fixer modules register themselves with `@register`; `all_fixers()` imports the
package's modules once so the registry is complete without a hand-kept list.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator

from bot.engine.fixers.base import Fixer

_BY_RULE: dict[str, list[Fixer]] = {}
_ALL: list[Fixer] = []
_LOADED = False


def register(cls: type[Fixer]) -> type[Fixer]:
    """Class decorator: instantiate the fixer and index it by its rule ids."""
    if not cls.rule_ids or not cls.name:
        raise ValueError(f"{cls.__name__} must set rule_ids and name")
    instance = cls()
    _ALL.append(instance)
    for rule in cls.rule_ids:
        _BY_RULE.setdefault(rule, []).append(instance)
    return cls


def _load() -> None:
    global _LOADED
    if _LOADED:
        return
    import bot.engine.fixers as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name not in {"base", "registry"} and not info.name.startswith("_"):
            importlib.import_module(f"bot.engine.fixers.{info.name}")
    _LOADED = True


def fixers_for(rule_id: str) -> list[Fixer]:
    _load()
    return list(_BY_RULE.get(rule_id, ()))


def all_fixers() -> Iterator[Fixer]:
    _load()
    return iter(list(_ALL))


def covered_rules() -> list[str]:
    _load()
    return sorted(_BY_RULE)
