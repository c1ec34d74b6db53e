"""What a project declares about itself that a fix must respect: its dependencies and its Pythons.

A fix that imports a package the project does not depend on makes the module raise ImportError
wherever it is installed from the project's own metadata; a keyword the oldest supported Python
does not know (`tarfile.extractall(filter=...)` before 3.12 and its backports) raises TypeError
there. Fixers read these facts from `FixContext.project`; without a project folder (the App reads
files, not a checkout) nothing is declared and the minimum Python is unknown.
"""

from __future__ import annotations

import configparser
import functools
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProjectFacts:
    """Names of declared dependencies (normalised) and the lowest Python `requires-python` allows."""

    dependencies: frozenset[str] = frozenset()
    min_python: tuple[int, ...] | None = None
    known: bool = False  # False: no project folder was read (nothing can be ruled out)

    def may_import(self, package: str) -> bool:
        """Whether code of this project may import `package`: declared, or nothing is known."""
        return not self.known or _normalise(package) in self.dependencies


NO_FACTS = ProjectFacts()
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _names(lines: list[str]) -> set[str]:
    out = set()
    for line in lines:
        match = _REQUIREMENT.match(line.split("#", 1)[0])
        if match and not line.lstrip().startswith("-"):
            out.add(_normalise(match.group(1)))
    return out


def _min_python(spec: str) -> tuple[int, ...] | None:
    """The lowest version a `requires-python` specifier admits (`>=3.10` → (3, 10)); None if unclear."""
    bounds = re.findall(r"(>=|~=|==|>)\s*(\d+(?:\.\d+)*)", spec)
    if not bounds:
        return None
    return max(tuple(int(p) for p in version.split(".")) for _, version in bounds)


# The files `facts_from_texts` reads (the App fetches them from the base branch).
FACT_FILES = ("pyproject.toml", "setup.cfg", "setup.py", "requirements.txt")


def facts_from_texts(texts: Mapping[str, str]) -> ProjectFacts:
    """Facts from file texts: pyproject.toml (`[project]` dependencies, optional dependencies,
    `requires-python`), requirements*.txt, setup.cfg's `install_requires` / `python_requires`;
    a setup.py is only searched for quoted names."""
    names: set[str] = set()
    min_python: tuple[int, ...] | None = None
    try:
        data = tomllib.loads(texts.get("pyproject.toml", ""))
    except tomllib.TOMLDecodeError:
        data = {}
    project = data.get("project", {}) if isinstance(data.get("project"), dict) else {}
    names |= _names([d for d in project.get("dependencies", []) if isinstance(d, str)])
    for extra in (project.get("optional-dependencies") or {}).values():
        names |= _names([d for d in extra if isinstance(d, str)])
    if isinstance(project.get("requires-python"), str):
        min_python = _min_python(project["requires-python"])
    for name, text in sorted(texts.items()):
        if name.startswith("requirements") and name.endswith(".txt"):
            names |= _names(text.splitlines())
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(texts.get("setup.cfg", ""))
        if parser.has_option("options", "install_requires"):
            names |= _names(parser.get("options", "install_requires").splitlines())
        if min_python is None and parser.has_option("options", "python_requires"):
            min_python = _min_python(parser.get("options", "python_requires"))
    except configparser.Error:
        pass
    quoted = r"[\"']([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:[<>=!~;\[].*?)?[\"']"
    names |= {_normalise(n) for n in re.findall(quoted, texts.get("setup.py", ""))}
    return ProjectFacts(frozenset(names), min_python, known=True)


@functools.lru_cache(maxsize=32)
def facts_for(root: str | None) -> ProjectFacts:
    """The facts of a project folder on disk (see `facts_from_texts`)."""
    if root is None:
        return NO_FACTS
    folder = Path(root)
    texts: dict[str, str] = {}
    for path in [*(folder / n for n in FACT_FILES), *sorted(folder.glob("requirements*.txt"))]:
        try:
            texts[path.name] = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
    return facts_from_texts(texts)
