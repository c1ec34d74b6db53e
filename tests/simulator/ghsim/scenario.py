"""Seed a simulator from a scenario document (JSON or TOML).

Used by ``python -m ghsim --scenario FILE`` and ``POST /_sim/scenario``
so a demo or an out-of-process test can set up Apps, installations, tokens,
repositories and PRs without Python access to the simulator.

Format (every section optional)::

    {
      "settings": {"rate_limit": 5000, "max_patch_changes": 2000, "max_listed_files": 3000,
                   "min_write_interval": 0, "secondary_retry_after": 60,
                   "content_per_minute": 80, "content_per_hour": 500},
      "apps": [{"id": 1, "slug": "mendbot", "private_key_file": "app.pem",
                "public_key_pem": "...", "private_key_pem": "...", "client_id": "Iv1.x",
                "owner": "mendbot-dev", "webhook_url": "http://127.0.0.1:8000/webhook",
                "webhook_secret": "s3cret", "permissions": {"checks": "write", ...}}],
      "installations": [{"id": 100, "app_id": 1, "account": "octo-org",
                         "repositories": ["octo-org/demo"]}],
      "tokens": [{"token": "ghp_test", "login": "octocat", "repositories": null,
                  "permissions": null, "can_create_checks": false}],
      "repositories": [{"full_name": "octo-org/demo", "default_branch": "main",
                        "private": false, "files": {"README.md": "hi\\n"}, "files_dir": "base/"}],
      "pull_requests": [{"repo": "octo-org/demo", "number": 1, "title": "Add x", "body": "",
                         "user": "alice", "base_ref": "main", "head_ref": "feature", "draft": false,
                         "base_files": {...}, "head_files": {...}, "base_dir": "...", "head_dir": "...",
                         "renames": {"old.py": "new.py"},
                         "pushes": [{"files": {...}, "files_dir": "..."}]}]
    }

File contents are strings (UTF-8) or ``{"base64": "..."}``.  ``*_dir`` paths
are read recursively, relative to the scenario file.  ``private_key_file``
is read when it exists, otherwise a key is generated and written there, so
the bot under demo can sign JWTs with it.
"""

from __future__ import annotations

import base64
import json
import tomllib
from pathlib import Path
from typing import Any

from ghsim.simulator import Simulator, generate_private_key_pem


def load_document(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".toml":
        return tomllib.loads(text)
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("a scenario must be a JSON object")
    return data


def _files(spec: dict[str, Any], key: str, dir_key: str, root: Path | None) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    directory = spec.get(dir_key)
    if directory:
        base = (root / directory) if root is not None else Path(directory)
        for path in sorted(base.rglob("*")):
            if path.is_file():
                files[path.relative_to(base).as_posix()] = path.read_bytes()
    for name, value in (spec.get(key) or {}).items():
        if isinstance(value, dict) and "base64" in value:
            files[name] = base64.b64decode(value["base64"])
        elif isinstance(value, str):
            files[name] = value.encode("utf-8")
        else:
            raise ValueError(f"file {name!r}: content must be a string or {{'base64': ...}}")
    return files


def _app_key(spec: dict[str, Any], root: Path | None) -> tuple[bytes | None, bytes | None, bool]:
    """(private, public, generated) for an app entry."""
    private = spec.get("private_key_pem")
    public = spec.get("public_key_pem")
    if spec.get("public_key_file"):
        public = (root / spec["public_key_file"] if root else Path(spec["public_key_file"])).read_text()
    key_file = spec.get("private_key_file")
    generated = False
    if key_file:
        path = root / key_file if root else Path(key_file)
        if path.exists():
            private = path.read_text()
        else:
            pem = generate_private_key_pem()
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(pem)
            path.chmod(0o600)
            private, generated = pem.decode(), True
    elif private is None and public is None:
        generated = True
    return (
        private.encode() if isinstance(private, str) else private,
        public.encode() if isinstance(public, str) else public,
        generated,
    )


def apply_settings(sim: Simulator, settings: dict[str, Any]) -> None:
    """Apply ``settings`` keys (see module docstring) to a running simulator."""
    with sim.lock:
        if "rate_limit" in settings:
            sim.rate_limits.limit = int(settings["rate_limit"])
            sim.rate_limits.reset()
        for key in ("max_patch_changes", "max_patch_bytes", "max_listed_files"):
            if key in settings:
                setattr(sim, key, int(settings[key]))
        converters: dict[str, type[float] | type[int]] = {
            "min_write_interval": float,
            "secondary_retry_after": int,
            "content_per_minute": int,
            "content_per_hour": int,
        }
        for key, convert in converters.items():
            if key in settings:
                value = settings[key]
                setattr(sim.faults, key, None if value is None else convert(value))


def load_scenario(sim: Simulator, document: dict[str, Any], root: Path | None = None) -> dict[str, Any]:
    """Seed ``sim`` from ``document``; returns what was created (ids, shas, generated keys)."""
    summary: dict[str, Any] = {"apps": [], "installations": [], "tokens": [], "repositories": [], "pull_requests": []}
    with sim.lock:
        apply_settings(sim, document.get("settings") or {})
        for spec in document.get("apps") or []:
            private, public, generated = _app_key(spec, root)
            app = sim.create_app(
                app_id=spec.get("id"),
                slug=spec.get("slug", "mendbot"),
                name=spec.get("name"),
                private_key_pem=private,
                public_key_pem=public,
                client_id=spec.get("client_id"),
                owner=spec.get("owner", "mendbot-dev"),
                permissions=spec.get("permissions"),
                events=spec.get("events"),
                webhook_url=spec.get("webhook_url"),
                webhook_secret=spec.get("webhook_secret"),
            )
            entry: dict[str, Any] = {
                "id": app.id,
                "slug": app.slug,
                "client_id": app.client_id,
                "bot_login": app.bot_user.login,
            }
            if generated and app.private_key_pem:
                entry["private_key_pem"] = app.private_key_pem.decode()
            summary["apps"].append(entry)
        for spec in document.get("repositories") or []:
            repo = sim.create_repo(
                spec["full_name"],
                _files(spec, "files", "files_dir", root),
                default_branch=spec.get("default_branch", "main"),
                private=bool(spec.get("private", False)),
            )
            summary["repositories"].append({"full_name": repo.full_name, "id": repo.id})
        for spec in document.get("installations") or []:
            installation = sim.install_app(
                int(spec["app_id"]),
                spec["account"],
                spec.get("repositories"),
                installation_id=spec.get("id"),
                permissions=spec.get("permissions"),
            )
            summary["installations"].append({"id": installation.id, "app_id": installation.app_id})
        for spec in document.get("tokens") or []:
            sim.add_token(
                spec["token"],
                spec.get("login", "octocat"),
                repositories=spec.get("repositories"),
                permissions=spec.get("permissions"),
                can_create_checks=bool(spec.get("can_create_checks", False)),
            )
            summary["tokens"].append({"login": spec.get("login", "octocat")})
        for spec in document.get("pull_requests") or []:
            pr = sim.create_pull_request(
                spec["repo"],
                _files(spec, "base_files", "base_dir", root),
                _files(spec, "head_files", "head_dir", root),
                number=spec.get("number"),
                title=spec.get("title", "Update code"),
                body=spec.get("body", ""),
                user=spec.get("user", "octocat"),
                base_ref=spec.get("base_ref"),
                head_ref=spec.get("head_ref"),
                draft=bool(spec.get("draft", False)),
                renames=spec.get("renames"),
                head_repo=spec.get("head_repo"),
            )
            for push in spec.get("pushes") or []:
                sim.push(pr.repo, pr.number, _files(push, "files", "files_dir", root), renames=push.get("renames"))
            summary["pull_requests"].append(
                {
                    "repo": pr.repo,
                    "number": pr.number,
                    "head_sha": pr.head_sha,
                    "base_sha": pr.base_sha,
                    "files": len(pr.files),
                }
            )
    return summary


def load_scenario_file(sim: Simulator, path: str | Path) -> dict[str, Any]:
    path = Path(path)
    return load_scenario(sim, load_document(path), path.parent)
