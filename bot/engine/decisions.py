"""The decisions a project already made about bandit's rules, read the way the tools that made them read them.

A maintainer who wrote `ignore = ["S101"]` in ruff's config, `# noqa: S603` on a line,
`per-file-ignores` for tests in flake8, or `skips`/`exclude_dirs` for bandit has answered
the question mendbot would ask. Asking again is noise, so mendbot honours:

- ruff (`[tool.ruff]` / `[tool.ruff.lint]` in pyproject.toml, `ruff.toml`, `.ruff.toml`):
  `ignore`, `extend-ignore`, `per-file-ignores`, `extend-per-file-ignores` for `S…` codes
  (flake8-bandit's `S<n>` is bandit's `B<n>`, number for number), and `# noqa` /
  `# noqa: S…` comments, and the file-level `# ruff: noqa` / `# flake8: noqa`;
- flake8 (`[flake8]` in `.flake8`, `setup.cfg`, `tox.ini`): `ignore`, `extend-ignore`,
  `per-file-ignores` for `S…` codes;
- the paths ruff and flake8 are told to skip (`exclude` / `extend-exclude`: vendored code,
  generated files) are not scanned either;
- bandit: a project-level `.bandit` INI (`skips`, `tests`, `exclude`), as bandit's CLI
  reads it for `bandit -r .`, and `exclude_dirs` of the bandit config file; its
  `skips`/`tests` in YAML/TOML are read by bandit's own `BanditConfig` (see `bot.engine.scan`).

The result is a frozen value, so it is part of the scan cache key, and it can be
built from files on disk (CLI) or from texts fetched from a branch (App, Action).
"""

from __future__ import annotations

import configparser
import fnmatch
import functools
import hashlib
import io
import re
import tokenize
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pathspec

# Files whose text decides something; read from disk or fetched from the base branch.
DECISION_FILES = ("pyproject.toml", "ruff.toml", ".ruff.toml", "setup.cfg", "tox.ini", ".flake8", ".bandit")

_CODE = re.compile(r"^[A-Z]+[0-9]*$")
# ruff's own noqa grammar: a bare noqa comment, or noqa followed by a colon and codes (`A1, B2` or `A1 B2`).
_NOQA = re.compile(r"#\s*noqa(?::\s?(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)
_FILE_NOQA = re.compile(
    r"#\s*(?:ruff|flake8)\s*:\s*noqa(?::\s?(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.IGNORECASE
)


def s_code_prefix(code: str) -> str | None:
    """`S` → `B` (every bandit id), `S1` → `B1`, `S603` → `B603`; `ALL` → `B`; other codes → None."""
    code = code.strip().upper()
    if code == "ALL":
        return "B"
    if code.startswith("S") and (len(code) == 1 or code[1:].isdigit()):
        return "B" + code[1:]
    return None


def _prefixes(codes: Any) -> tuple[str, ...]:
    if isinstance(codes, str):
        codes = re.split(r"[,\s]+", codes)
    if not isinstance(codes, list | tuple):
        return ()
    out = {p for c in codes if isinstance(c, str) for p in [s_code_prefix(c)] if p}
    return tuple(sorted(out))


@functools.lru_cache(maxsize=256)
def _gitignore_spec(pattern: str) -> pathspec.PathSpec:
    """Compiled once per pattern: a per-file ignore is matched against every finding."""
    return pathspec.PathSpec.from_lines("gitignore", [pattern])


@dataclass(frozen=True)
class PerFileIgnore:
    """`pattern` (a ruff/flake8 glob, relative to the project root) → bandit id prefixes."""

    pattern: str
    prefixes: tuple[str, ...]
    origin: str

    def matches(self, rel_path: str) -> bool:
        pattern = self.pattern.strip()
        if pattern.startswith("./"):
            pattern = pattern[2:]
        if fnmatch.fnmatch(rel_path, pattern) or fnmatch.fnmatch(rel_path.rsplit("/", 1)[-1], pattern):
            return True
        if _gitignore_spec(pattern).match_file(rel_path):
            return True
        # A folder named without a glob covers the files below it (ruff: `tests/` or `tests`).
        return "*" not in pattern and (rel_path + "/").startswith(pattern.rstrip("/") + "/")


@dataclass(frozen=True)
class ProjectDecisions:
    """What the project's own configuration says about bandit's findings."""

    ignored: tuple[tuple[str, str], ...] = ()  # (bandit id prefix, origin) for the whole project
    per_file: tuple[PerFileIgnore, ...] = ()
    bandit_skips: tuple[str, ...] = ()
    bandit_tests: tuple[str, ...] = ()
    bandit_excludes: tuple[str, ...] = ()  # bandit's excluded path strings (fnmatch or substring)
    path_excludes: tuple[str, ...] = ()  # ruff's / flake8's `exclude`, `extend-exclude` (gitignore-style)
    honour_noqa: bool = True
    origins: tuple[str, ...] = field(default=(), compare=False)

    def digest(self) -> str:
        text = repr(
            (
                self.ignored,
                self.per_file,
                self.bandit_skips,
                self.bandit_tests,
                self.bandit_excludes,
                self.path_excludes,
            )
        )
        return hashlib.sha256(f"{text}|{self.honour_noqa}".encode()).hexdigest()[:16]

    def config_reason(self, rule_id: str, rel_path: str) -> str | None:
        """Why the project's configuration turns this rule off for this file, or None."""
        for prefix, origin in self.ignored:
            if rule_id.startswith(prefix):
                return f"ignored by {origin}"
        for entry in self.per_file:
            if any(rule_id.startswith(p) for p in entry.prefixes) and entry.matches(rel_path):
                return f"ignored for `{entry.pattern}` by {entry.origin}"
        return None

    def bandit_excluded(self, rel_path: str) -> str | None:
        """bandit's own exclusion test (`_is_file_included`) on the path as `bandit -r .` sees it."""
        seen_as = "./" + rel_path
        for pattern in self.bandit_excludes:
            if fnmatch.fnmatch(seen_as, pattern) or pattern in seen_as:
                return f"excluded by bandit's config (`{pattern}`)"
        return None


# --- noqa -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoqaMap:
    """`# noqa` comments of one file: per line the bandit id prefixes (empty tuple = every rule)."""

    lines: Mapping[int, tuple[str, ...]]
    whole_file: tuple[str, ...] | None  # the file-level exemption's codes (empty: all); None = none

    def reason(self, rule_id: str, lines: range) -> str | None:
        if self.whole_file is not None and (not self.whole_file or any(rule_id.startswith(p) for p in self.whole_file)):
            return "exempted by a file-level `# ruff: noqa`"
        for line in lines:
            prefixes = self.lines.get(line)
            if prefixes is None:
                continue
            if not prefixes:
                return f"suppressed by a bare `# noqa` on line {line}"
            if any(rule_id.startswith(p) for p in prefixes):
                return f"suppressed by `# noqa: S{rule_id[1:]}` on line {line}"
        return None


_EMPTY_NOQA = NoqaMap({}, None)


def noqa_map(text: str) -> NoqaMap:
    """Read every `# noqa` comment with the tokenizer (never inside strings); cheap when there is none."""
    if "noqa" not in text.lower():
        return _EMPTY_NOQA
    lines: dict[int, tuple[str, ...]] = {}
    whole: tuple[str, ...] | None = None
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type != tokenize.COMMENT or "noqa" not in tok.string.lower():
                continue
            file_level = _FILE_NOQA.match(tok.string)
            if file_level is not None:
                codes = file_level.group("codes")
                found = _prefixes(codes) if codes else ()
                if not codes or found:
                    whole = tuple(sorted({*(whole or ()), *found})) if codes else ()
                continue
            match = _NOQA.search(tok.string)
            if match is None:
                continue
            codes = match.group("codes")
            if codes is None:
                lines[tok.start[0]] = ()
            else:
                found = _prefixes(codes)
                if found:
                    lines[tok.start[0]] = found
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass
    return NoqaMap(lines, whole)


# --- reading the configuration files ----------------------------------------------------


def _ruff_table(data: dict[str, Any], from_pyproject: bool) -> dict[str, Any]:
    table = data.get("tool", {}).get("ruff", {}) if from_pyproject else data
    return table if isinstance(table, dict) else {}


def _as_gitignore(pattern: str) -> str:
    """A ruff/flake8 exclude pattern as a gitignore-style one: `./build` is anchored at the root."""
    pattern = pattern.strip()
    return "/" + pattern[2:] if pattern.startswith("./") else pattern


def _excludes_from_ruff(table: dict[str, Any]) -> list[str]:
    return [_as_gitignore(p) for key in ("exclude", "extend-exclude", "extend_exclude") for p in _list(table.get(key))]


def _from_ruff(table: dict[str, Any], origin: str) -> tuple[list[tuple[str, str]], list[PerFileIgnore]]:
    ignored: list[tuple[str, str]] = []
    per_file: list[PerFileIgnore] = []
    lint = table.get("lint", {}) if isinstance(table.get("lint"), dict) else {}
    for source in (table, lint):
        for key in ("ignore", "extend-ignore", "extend_ignore"):
            ignored += [(p, f"{origin} ({key})") for p in _prefixes(source.get(key))]
        for key in ("per-file-ignores", "extend-per-file-ignores"):
            entries = source.get(key)
            if isinstance(entries, dict):
                for pattern, codes in entries.items():
                    prefixes = _prefixes(codes)
                    if prefixes and isinstance(pattern, str):
                        per_file.append(PerFileIgnore(pattern, prefixes, f"{origin} ({key})"))
    return ignored, per_file


def _from_flake8(text: str, origin: str) -> tuple[list[tuple[str, str]], list[PerFileIgnore]]:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return [], []
    if not parser.has_section("flake8"):
        return [], []
    section = parser["flake8"]
    ignored = [
        (p, f"{origin} [flake8] {key}")
        for key in ("ignore", "extend-ignore", "extend_ignore")
        for p in _prefixes(section.get(key, ""))
    ]
    per_file: list[PerFileIgnore] = []
    raw = section.get("per-file-ignores", "") or section.get("per_file_ignores", "")
    # flake8's format: `pattern: CODE, CODE` entries separated by newlines or whitespace.
    for pattern, codes in re.findall(r"([^\s:]+)\s*:\s*((?:[A-Z]+[0-9]*[,\s]*)+)", raw):
        prefixes = _prefixes(codes)
        if prefixes:
            per_file.append(PerFileIgnore(pattern, prefixes, f"{origin} [flake8] per-file-ignores"))
    return ignored, per_file


def _flake8_excludes(text: str) -> list[str]:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return []
    if not parser.has_section("flake8"):
        return []
    section = parser["flake8"]
    raw = [section.get(k, "") for k in ("exclude", "extend-exclude", "extend_exclude")]
    return [_as_gitignore(p) for value in raw for p in re.split(r"[,\s]+", value) if p.strip()]


def _list(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple):
        return ()
    return tuple(v.strip() for v in value if isinstance(v, str) and v.strip())


def from_texts(texts: Mapping[str, str], bandit_config_text: tuple[str, str] | None = None) -> ProjectDecisions:
    """Decisions from config files given as {file name: text} (the names of `DECISION_FILES`).

    ruff uses the first of `.ruff.toml`, `ruff.toml`, `pyproject.toml` (with a `[tool.ruff]`)
    it finds, as ruff does; flake8 the first of `.flake8`, `setup.cfg`, `tox.ini` with a
    `[flake8]` section. `bandit_config_text` is (file name, text) of bandit's config file.
    """
    ignored: list[tuple[str, str]] = []
    per_file: list[PerFileIgnore] = []
    path_excludes: list[str] = []
    origins: list[str] = []
    for name in (".ruff.toml", "ruff.toml", "pyproject.toml"):
        text = texts.get(name)
        if text is None:
            continue
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            continue
        table = _ruff_table(data, name == "pyproject.toml")
        if not table:
            continue
        more_ignored, more_per_file = _from_ruff(table, f"ruff's config in {name}")
        ignored += more_ignored
        per_file += more_per_file
        path_excludes += _excludes_from_ruff(table)
        origins.append(name)
        break
    for name in (".flake8", "setup.cfg", "tox.ini"):
        text = texts.get(name)
        if text is None or "[flake8]" not in text:
            continue
        more_ignored, more_per_file = _from_flake8(text, name)
        ignored += more_ignored
        per_file += more_per_file
        path_excludes += _flake8_excludes(text)
        origins.append(name)
        break
    skips: tuple[str, ...] = ()
    tests: tuple[str, ...] = ()
    excludes: list[str] = []
    ini = texts.get(".bandit")
    if ini is not None:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(ini)
            if parser.has_section("bandit"):
                section = parser["bandit"]
                skips = _list(section.get("skips", ""))
                tests = _list(section.get("tests", ""))
                excludes += _list(section.get("exclude", ""))
                origins.append(".bandit")
        except configparser.Error:
            pass
    if bandit_config_text is not None:
        excludes += _bandit_exclude_dirs(*bandit_config_text)
    return ProjectDecisions(
        ignored=tuple(dict.fromkeys(ignored)),
        per_file=tuple(per_file),
        bandit_skips=skips,
        bandit_tests=tests,
        bandit_excludes=tuple(dict.fromkeys(excludes)),
        path_excludes=tuple(dict.fromkeys(path_excludes)),
        origins=tuple(origins),
    )


def _bandit_exclude_dirs(name: str, text: str) -> list[str]:
    """`exclude_dirs` of a bandit config file (TOML `[tool.bandit]` or YAML)."""
    if name.endswith(".toml"):
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            return []
        table = data.get("tool", {}).get("bandit", {}) if name.endswith("pyproject.toml") else data
        return list(_list(table.get("exclude_dirs", []))) if isinstance(table, dict) else []
    try:
        import yaml

        data = yaml.safe_load(text)
    except Exception:
        return []
    return list(_list(data.get("exclude_dirs", []))) if isinstance(data, dict) else []


def from_root(root: Path, bandit_config: str | None = None) -> ProjectDecisions:
    """Decisions from the configuration files in a project folder."""
    texts: dict[str, str] = {}
    for name in DECISION_FILES:
        path = root / name
        if path.is_file():
            try:
                texts[name] = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
    bandit_text = None
    if bandit_config and Path(bandit_config).is_file():
        try:
            bandit_text = (bandit_config, Path(bandit_config).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            bandit_text = None
    return from_texts(texts, bandit_text)
