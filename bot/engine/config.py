"""Repository configuration: `[tool.mendbot]` in pyproject.toml or `.mendbot.toml`.

`RepoConfig` is what a project decides about its own review (rules, severities,
comment budget, the learned fixer). The App and the Action read it from the pull
request's *base* branch, so a pull request cannot switch its own checks off, and
from nothing else: the service's own settings (`bot.github.settings.ServiceSettings`,
from the environment) share no key with it. Only the CLI layers the environment
(`MENDBOT_*`) and its flags on top — later wins.
"""

from __future__ import annotations

import dataclasses
import enum
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.engine import decisions as project_decisions
from bot.engine.findings import Level
from bot.engine.policy import Placement
from bot.engine.scan import DEFAULT_MAX_BYTES, ScanSettings, known_rule_ids, unknown_rule_ids


class FilterMode(enum.StrEnum):
    """Which findings a diff keeps (reviewdog's filter modes)."""

    ADDED = "added"  # a line of the finding was added by the change
    DIFF_CONTEXT = "diff_context"  # the finding touches a hunk, context lines included
    FILE = "file"  # the finding's file is in the change
    NOFILTER = "nofilter"


DEFAULT_EXCLUDES = (
    ".git",
    ".hg",
    ".svn",
    ".tox",
    ".nox",
    ".venv",
    "venv",
    "__pycache__",
    "node_modules",
    "build",
    "dist",
    ".eggs",
    "*.egg-info",
)


class RepoConfig(BaseModel):
    """Every setting a repository (or the CLI's user) decides; see the README's configuration reference."""

    model_config = ConfigDict(extra="ignore")

    severity: Level = Field(Level.LOW, description="lowest severity reported")
    confidence: Level = Field(Level.LOW, description="lowest confidence reported")
    fail_on: Level = Field(Level.MEDIUM, description="exit 1 / failing check at or above this severity")
    select: list[str] = Field(default_factory=list, description="only these bandit ids")
    ignore: list[str] = Field(default_factory=list, description="never these bandit ids")
    exclude: list[str] = Field(default_factory=list, description="extra path globs to skip")
    default_excludes: bool = Field(True, description="skip VCS, virtualenv and build folders")
    respect_gitignore: bool = Field(True, description="skip what the project's .gitignore files ignore")
    max_file_bytes: int = Field(DEFAULT_MAX_BYTES, description="files above this size are not scanned")
    skip_asserts_in_tests: bool = Field(True, description="drop B101 in test files")
    ignore_nosec: bool = False
    bandit_config: str | None = Field(
        None, description="bandit config file (default: pyproject [tool.bandit] / .bandit)"
    )
    filter_mode: FilterMode = FilterMode.ADDED
    max_comments: int = Field(25, description="inline review comments per review; the rest go to the summary")
    inline_min_severity: Level = Field(
        Level.MEDIUM, description="findings below this get an inline comment only with a proven fix"
    )
    rules: dict[str, Placement] = Field(
        default_factory=dict,
        description='per-rule placement: {"B603": "inline", "B101": "off", "B311": "summary"}',
    )
    honour_noqa: bool = Field(True, description="`# noqa` / `# noqa: S…` comments suppress findings, as in ruff")
    context_rules: bool = Field(True, description="dismiss deliberate shapes (type-narrowing asserts, masks, …)")
    model: bool = Field(False, description="ask the learned fixer for candidates where codemods decline")
    model_rules: list[str] = Field(
        default_factory=list,
        description="bandit ids the learned fixer may draft for, beyond those measured on real code",
    )
    jobs: int = Field(0, description="scan processes (0 = one per core)")
    cache_dir: str | None = None
    cache: bool = True

    @field_validator("severity", "confidence", "fail_on", "inline_min_severity", mode="before")
    @classmethod
    def _level(cls, value: Any) -> Level:
        return Level.parse(value) if isinstance(value, str) else Level(value)

    @field_validator("select", "ignore", "exclude", "model_rules", mode="before")
    @classmethod
    def _csv(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("select", "ignore", "model_rules")
    @classmethod
    def _known_ids(cls, value: list[str]) -> list[str]:
        ids = [v.strip().upper() for v in value]
        _require_known(ids)
        return ids

    @field_validator("rules", mode="before")
    @classmethod
    def _rule_keys(cls, value: Any) -> Any:
        if isinstance(value, dict):
            value = {str(k).strip().upper(): v for k, v in value.items()}
            _require_known(value)
        return value

    def scan_settings(
        self, root: Path | None = None, decisions: project_decisions.ProjectDecisions | None = None
    ) -> ScanSettings:
        """What the scanner needs; the project's own decisions are read from `root` unless given
        (the App passes those it read from the base branch)."""
        bandit_config = self.bandit_config or (find_bandit_config(root) if root else None)
        if decisions is None:
            decisions = (
                project_decisions.from_root(root, bandit_config) if root else project_decisions.ProjectDecisions()
            )
        if not self.honour_noqa:
            decisions = dataclasses.replace(decisions, honour_noqa=False)
        return ScanSettings(
            select=tuple(self.select),
            ignore=tuple(self.ignore),
            severity=self.severity,
            confidence=self.confidence,
            bandit_config=bandit_config,
            ignore_nosec=self.ignore_nosec,
            max_bytes=self.max_file_bytes,
            skip_asserts_in_tests=self.skip_asserts_in_tests,
            decisions=decisions,
            root=str(root.resolve()) if root else None,
            context_rules=self.context_rules,
            off_rules=tuple(sorted(r for r, where in self.rules.items() if where == Placement.OFF)),
        )


class _CommandLineLayer(BaseSettings, RepoConfig):
    """The CLI's layer over the files: `MENDBOT_*` variables, then flags (init values)."""

    model_config = SettingsConfigDict(env_prefix="MENDBOT_", extra="ignore", env_nested_delimiter=None)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Flags (init) beat the environment, which beats the project's files (passed as init
        # defaults by `load`), so files are merged in `load` rather than as a source here.
        return (init_settings, env_settings)


def _require_known(ids: Any) -> None:
    unknown = unknown_rule_ids(ids)
    if unknown:
        raise ValueError(f"unknown bandit id(s) {', '.join(unknown)}; valid ids: {', '.join(sorted(known_rule_ids()))}")


class ConfigError(ValueError):
    """A configuration file or value mendbot cannot use; the message says which."""


def read_project_config(root: Path) -> dict[str, Any]:
    """`.mendbot.toml` (whole file) wins over `[tool.mendbot]` in pyproject.toml."""
    for name, table in ((".mendbot.toml", ()), ("pyproject.toml", ("tool", "mendbot"))):
        path = root / name
        if not path.is_file():
            continue
        try:
            data: Any = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from None
        for key in table:
            data = data.get(key, {}) if isinstance(data, dict) else {}
        if data:
            return {key.replace("-", "_"): value for key, value in data.items()}
    return {}


def parse_project_config(text: str, filename: str) -> dict[str, Any]:
    """Same as `read_project_config`, for text fetched from a branch (workers, Action)."""
    try:
        data: Any = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{filename}: {exc}") from None
    if filename.endswith("pyproject.toml"):
        data = data.get("tool", {}).get("mendbot", {})
    return {key.replace("-", "_"): value for key, value in data.items()}


def load(
    root: Path | None = None,
    overrides: dict[str, Any] | None = None,
    file_values: dict[str, Any] | None = None,
    *,
    environment: bool = True,
) -> RepoConfig:
    """Project file values < environment (`environment=True`: the CLI) < explicit overrides (flags).

    The App and the Action pass `environment=False`: a service's environment must never
    change how a repository is reviewed."""
    from pydantic import ValidationError

    files = file_values if file_values is not None else (read_project_config(root) if root else {})
    try:
        layer: RepoConfig = _CommandLineLayer(**(overrides or {})) if environment else RepoConfig(**(overrides or {}))
        explicit = layer.model_fields_set
        return RepoConfig.model_validate({**files, **{k: getattr(layer, k) for k in explicit}})
    except ValidationError as exc:
        raise ConfigError(str(exc)) from None


def find_project_root(start: Path) -> Path:
    """The nearest folder upwards holding pyproject.toml, .mendbot.toml or .git."""
    current = start.resolve()
    if current.is_file():
        current = current.parent
    for folder in (current, *current.parents):
        if any((folder / marker).exists() for marker in ("pyproject.toml", ".mendbot.toml", ".git")):
            return folder
    return current


def find_bandit_config(root: Path) -> str | None:
    """bandit reads `[tool.bandit]` only when told to; mendbot looks for it."""
    bandit_file = root / ".bandit"
    if bandit_file.is_file():
        return None  # INI-style .bandit is handled by bandit's own discovery, not BanditConfig
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            return None
        if "bandit" in data.get("tool", {}):
            return str(pyproject)
    for name in ("bandit.yaml", "bandit.yml", ".bandit.yaml", ".bandit.yml"):
        if (root / name).is_file():
            return str(root / name)
    return None
