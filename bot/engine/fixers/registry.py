"""The registry: bandit test id → the fixers that handle it.

Built-in fixers
    Each rule module registers its classes with `@register` when imported, and
    `bot.engine.fixers.builtin` imports every rule module by name (static imports, no
    module discovery). `fixers_for` / `all_fixers` load them on first use.

Third-party fixers (plugins)
    A distribution adds fixers through the entry-point group ``mendbot.fixers``
    (`ENTRY_POINT_GROUP`). Each entry point names one `Fixer` subclass as
    ``module:Class``, e.g. in the plugin's pyproject.toml::

        [project.entry-points."mendbot.fixers"]
        eval-literal = "mendbot_eval.fixers:EvalToLiteralEval"

    The class must subclass `bot.engine.fixers.base.Fixer` and set `rule_ids` and a
    `name` that no built-in (or other plugin) fixer uses; it needs no `@register`
    (one that has it is still registered once). The registry instantiates it once,
    after the built-ins, so for a rule id that a built-in also handles the built-in
    is tried first. A plugin's proposals go through the same gate as the built-in
    ones: nothing unproven is emitted. Its `title`, `explanation` and `cases` show in
    `mendbot rules`; the committed docs (README, docs/rules/) list built-ins only.

    A broken plugin is an error, never silently skipped: an entry point that cannot
    be imported, does not name a `Fixer` subclass, lacks `rule_ids` or `name`, or
    reuses a taken name raises `FixerPluginError`, naming the entry point and its
    distribution. All entry points are checked before any is registered, so the
    error repeats on every lookup until the plugin is fixed or uninstalled.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import EntryPoint, entry_points

from bot.engine.fixers.base import Fixer
from bot.engine.plugins import ENTRY_POINT_GROUP

_BY_RULE: dict[str, list[Fixer]] = {}
_ALL: list[Fixer] = []
_LOADED = False


class FixerPluginError(Exception):
    """A `mendbot.fixers` entry point that does not name a usable `Fixer` subclass."""


def register(cls: type[Fixer]) -> type[Fixer]:
    """Class decorator: instantiate the fixer and index it by its rule ids."""
    if not cls.rule_ids or not cls.name:
        raise ValueError(f"{cls.__name__} must set rule_ids and name")
    if any(f.name == cls.name for f in _ALL):
        raise ValueError(f"{cls.__name__}: a fixer named {cls.name!r} is already registered")
    instance = cls()
    _ALL.append(instance)
    for rule in cls.rule_ids:
        _BY_RULE.setdefault(rule, []).append(instance)
    return cls


def _describe(entry_point: EntryPoint) -> str:
    dist = entry_point.dist
    where = f"{dist.name} {dist.version}" if dist is not None else "an unknown distribution"
    return f"{ENTRY_POINT_GROUP} entry point {entry_point.name!r} = {entry_point.value!r} (from {where})"


def _plugin_class(entry_point: EntryPoint, taken: dict[str, str]) -> type[Fixer]:
    """Load and check one entry point; `taken` maps the names in use to who uses them."""
    try:
        loaded = entry_point.load()
    except Exception as exc:  # any import-time failure of third-party code
        raise FixerPluginError(f"{_describe(entry_point)} cannot be loaded: {exc!r}") from exc
    if not (isinstance(loaded, type) and issubclass(loaded, Fixer)) or loaded is Fixer:
        raise FixerPluginError(f"{_describe(entry_point)} names {loaded!r}, not a Fixer subclass")
    if not loaded.rule_ids or not loaded.name:
        raise FixerPluginError(f"{_describe(entry_point)}: {loaded.__name__} must set rule_ids and name")
    if loaded.name in taken:
        raise FixerPluginError(
            f"{_describe(entry_point)}: fixer name {loaded.name!r} is already used by {taken[loaded.name]}"
        )
    return loaded


def _plugin_classes() -> list[type[Fixer]]:
    """Every plugin fixer class, checked, in entry-point order (nothing registered yet)."""
    taken = {f.name: f"the built-in fixer {type(f).__module__}.{type(f).__name__}" for f in _ALL}
    classes: list[type[Fixer]] = []
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        cls = _plugin_class(entry_point, taken)
        taken[cls.name] = f"the plugin fixer of {_describe(entry_point)}"
        classes.append(cls)
    return classes


def _load() -> None:
    global _LOADED
    if _LOADED:
        return
    # Importing it registers the built-in fixers; here, not at the top: the rule modules import `register`.
    from bot.engine.fixers import builtin  # noqa: F401

    for cls in _plugin_classes():
        if not any(type(f) is cls for f in _ALL):  # a plugin module may `@register` its class itself
            register(cls)
    _LOADED = True


def fixers_for(rule_id: str) -> list[Fixer]:
    """The fixers for a bandit id, built-ins first, then plugins."""
    _load()
    return list(_BY_RULE.get(rule_id, ()))


def all_fixers() -> Iterator[Fixer]:
    """Every registered fixer, built-in and plugin."""
    _load()
    return iter(list(_ALL))


def builtin_fixers() -> list[Fixer]:
    """The fixers that ship with mendbot (what the committed docs describe)."""
    _load()
    from bot.engine.fixers import builtin

    modules = {module.__name__ for module in builtin.MODULES}
    return [f for f in _ALL if type(f).__module__ in modules]
