"""What ships besides the Python package: the Action, the workflows, the Docker images and
compose file, the App manifest, the pre-commit hooks and the user docs — linted with real
linters where they are installed, and checked against the code they mirror."""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from email.parser import Parser
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml
from ghsim import Simulator, SimulatorServer
from ghsim.demo import run_demo
from ghsim.localpipeline import PrivateRedis
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from rich.console import Console

from bot.faces.action import ActionInputs
from bot.faces.cli import build_parser
from bot.github.client import GitHubClient
from bot.github.pull_request import review_pull_request
from bot.github.settings import ServiceSettings
from workers.cli import main
from workers.commands import wiring

ROOT = Path(__file__).resolve().parent.parent
ACTION = ROOT / "action.yml"
WORKFLOWS = [*sorted((ROOT / ".github" / "workflows").glob("*.yml")), ROOT / "examples" / "github-workflow.yml"]
DOCKERFILES = [ROOT / "docker" / "Dockerfile", ROOT / "docker" / "Dockerfile.gpu"]
COMPOSE = ROOT / "docker" / "compose.yaml"
MANIFEST = ROOT / "docs" / "github-app" / "app-manifest.json"
HOOKS = ROOT / ".pre-commit-hooks.yaml"
# The Action's pinned install sets (scripts/lock_action.sh): extras of mendbot -> lock file.
LOCKS = {
    ("action",): ROOT / ".github" / "action-requirements.txt",
    ("action", "cpu"): ROOT / ".github" / "action-requirements-model.txt",
}
VENV_BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """A linter from the dev extra (next to this interpreter) or PATH; skip, saying why, when absent."""
    found = shutil.which(name, path=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if found is None:
        pytest.skip(f"{name} is not installed (it comes with `pip install -e '.[dev]'`)")
    return found


def lint(*argv: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)
    assert done.returncode == 0, f"{' '.join(argv)}\n{done.stdout}\n{done.stderr}"
    return done


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


# --- real linters ---------------------------------------------------------------------


def test_action_and_workflows_match_githubs_schemas() -> None:
    checker = tool("check-jsonschema")
    lint(checker, "--builtin-schema", "vendor.github-actions", str(ACTION))
    lint(checker, "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS))


def test_action_and_workflows_pass_zizmor() -> None:
    """zizmor's security audits (template injection, unpinned uses, credentials, permissions)."""
    done = lint(tool("zizmor"), "--offline", "--persona", "pedantic", str(ACTION), *map(str, WORKFLOWS))
    assert "No findings" in done.stdout


def test_dockerfiles_pass_hadolint() -> None:
    lint(tool("hadolint"), "--no-color", "--failure-threshold", "info", *map(str, DOCKERFILES))


def test_compose_file_matches_the_compose_spec() -> None:
    lint(tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE))


def test_docker_compose_config() -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("the docker CLI is not installed")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        said = (probe.stderr or probe.stdout).strip().splitlines()
        pytest.skip(f"the docker compose plugin is not installed ({said[0] if said else probe.returncode})")
    done = lint(docker, "compose", "-f", str(COMPOSE), "--profile", "gpu", "config", "--format", "json")
    assert {"redis", "receiver", "worker", "worker-gpu", "flower"} <= set(json.loads(done.stdout)["services"])


def test_pre_commit_manifest_is_valid() -> None:
    lint(tool("pre-commit"), "validate-manifest", str(HOOKS))


# --- the Action -----------------------------------------------------------------------


def test_action_is_composite_and_runs_mendbot_action_without_inlining_inputs() -> None:
    action = load_yaml(ACTION)
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    scripts = [step["run"] for step in steps if "run" in step]
    assert any("pip install" in script and "GITHUB_ACTION_PATH" in script for script in scripts)
    (run_step,) = [step for step in steps if 'mendbot" action' in step.get("run", "")]
    for script in scripts:
        assert "${{" not in script, "inputs reach scripts through env only (no template injection)"
    # Every input the step hands over is one `mendbot action` reads.
    env = run_step["env"]
    handed = {name for name in env if name.startswith("INPUT_")}
    assert handed == {"INPUT_FAIL_ON", "INPUT_MAX_COMMENTS", "INPUT_MODEL", "INPUT_SARIF_FILE", "INPUT_CHECK_RUN"}
    args = build_parser(wiring()).parse_args(["action"])
    sample = {"INPUT_FAIL_ON": "high", "INPUT_MAX_COMMENTS": "7", "INPUT_MODEL": "true", "INPUT_SARIF_FILE": "x.sarif"}
    resolved = ActionInputs.resolve(args, {**sample, "INPUT_CHECK_RUN": "true"})
    assert resolved == ActionInputs(fail_on="high", max_comments=7, model=True, sarif_file="x.sarif", check_run=True)
    assert env["MENDBOT_GITHUB_TOKEN"] == "${{ inputs.github-token }}"
    for name, value in env.items():
        if name.startswith("INPUT_"):
            assert value == "${{ inputs." + name[len("INPUT_") :].lower().replace("_", "-") + " }}"
    assert set(action["inputs"]) == {
        "github-token",
        "fail-on",
        "max-comments",
        "model",
        "sarif-file",
        "check-run",
        "python-version",
    }
    version = action["inputs"]["python-version"]["default"]
    assert tuple(map(int, version.split("."))) >= (3, 11)
    for step in steps:
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), "pin actions by commit"


def test_action_installs_only_from_its_hashed_locks_with_a_pip_cache() -> None:
    action = load_yaml(ACTION)
    steps = {step.get("id"): step for step in action["runs"]["steps"]}
    choose = steps["lock"]["run"]
    for lock in LOCKS.values():
        assert "${GITHUB_ACTION_PATH}/" + lock.relative_to(ROOT).as_posix() in choose
    install = steps["install"]
    pips = [line.strip() for line in install["run"].splitlines() if "-m pip install" in line]
    assert len(pips) == 2, pips
    assert "--require-hashes" in pips[0] and pips[0].endswith('-r "${LOCK}"')
    assert "--no-deps" in pips[1] and "--no-build-isolation" in pips[1] and pips[1].endswith('"${GITHUB_ACTION_PATH}"')
    assert install["env"]["LOCK"] == "${{ steps.lock.outputs.file }}"
    # setup-python's `cache: pip` (and hashFiles()) only see files in the workspace, not the
    # action's own: actions/cache keyed on the lock's digest instead, at the path pip uses.
    (cache,) = [step for step in action["runs"]["steps"] if step.get("uses", "").startswith("actions/cache@")]
    assert cache["with"]["key"] == "${{ steps.lock.outputs.key }}"
    assert cache["with"]["path"] == install["env"]["PIP_CACHE_DIR"]
    assert "${PYTHON_VERSION}" in choose and "${digest}" in choose


def _lock_entries(path: Path) -> list[tuple[Requirement, list[str]]]:
    """(requirement, hashes) per entry of a hashed requirements file, line continuations joined."""
    entries = []
    for raw in re.sub(r"\\\n", " ", path.read_text(encoding="utf-8")).splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        spec, *hashes = re.split(r"\s+--hash=", line)
        assert not spec.startswith("-"), f"{path.name}: option line {line!r}"
        entries.append((Requirement(spec), hashes))
    return entries


def _linux_env(python: str) -> dict[str, str]:
    """Marker environment of CPython `python` (3.x) on Linux x86_64, the hosted runners."""
    env = dict(default_environment())
    env.update(
        python_version=python,
        python_full_version=f"{python}.0",
        implementation_name="cpython",
        platform_python_implementation="CPython",
        sys_platform="linux",
        platform_system="Linux",
        os_name="posix",
        platform_machine="x86_64",
    )
    return env


def _declared(extras: tuple[str, ...]) -> list[Requirement]:
    """pyproject's base dependencies, those of `extras` (self-references expanded) and the build requirements."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    optional = project["project"]["optional-dependencies"]
    out = [Requirement(spec) for spec in project["project"]["dependencies"]]
    out += [Requirement(spec) for spec in project["build-system"]["requires"]]
    todo, seen = list(extras), set()
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for spec in optional[extra]:
            req = Requirement(spec)
            if canonicalize_name(req.name) == "mendbot":
                todo.extend(req.extras)
            else:
                out.append(req)
    return out


@pytest.mark.parametrize("extras", list(LOCKS), ids=["+".join(e) for e in LOCKS])
def test_action_locks_pin_and_hash_everything_mendbot_resolves_to(extras: tuple[str, ...]) -> None:
    """Each lock pins (==, sha256 hashes) every package of mendbot[extras] on CPython 3.11-3.13 / Linux,
    and is current with pyproject.toml. Regenerate with scripts/lock_action.sh."""
    lock = LOCKS[extras]
    entries = _lock_entries(lock)
    for req, hashes in entries:
        (spec,) = req.specifier
        assert spec.operator == "==" and "*" not in spec.version, f"{lock.name}: {req} is not pinned"
        assert hashes and all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), f"{lock.name}: {req}"
        assert not req.url and not req.extras, f"{lock.name}: {req}"
    assert "scripts/lock_action.sh" in lock.read_text(encoding="utf-8").split("\n\n")[0][:600]
    for python in ("3.11", "3.12", "3.13"):
        env = _linux_env(python)
        pins: dict[str, str] = {}
        for req, _ in entries:
            if req.marker is None or req.marker.evaluate(env):
                name = canonicalize_name(req.name)
                assert name not in pins, f"{lock.name}: two pins of {name} apply on {python}"
                pins[name] = next(iter(req.specifier)).version
        # The declared requirements, each pinned at a version its specifier allows.
        todo: list[tuple[Requirement, str]] = [(req, "pyproject.toml") for req in _declared(extras)]
        for req, _ in todo:
            if req.marker is None or req.marker.evaluate({**env, "extra": ""}):
                name = canonicalize_name(req.name)
                assert name in pins, f"{lock.name} lacks {req} on {python}: run scripts/lock_action.sh"
                assert req.specifier.contains(pins[name], prereleases=True), (
                    f"{lock.name} pins {name}=={pins[name]}, pyproject wants {req}: run scripts/lock_action.sh"
                )
        # Their dependencies, through the metadata of the installed distributions where the
        # installed version is the pinned one (the dev environment installs mendbot[dev,cpu]).
        walked, expanded = 0, set()
        while todo:
            req, parent = todo.pop()
            name = canonicalize_name(req.name)
            if req.marker is not None and not any(
                req.marker.evaluate({**env, "extra": extra}) for extra in ("", *sorted(req.extras))
            ):
                continue
            assert name in pins, f"{lock.name} lacks {req} (needed by {parent}) on {python}"
            key = (name, tuple(sorted(req.extras)))
            if key in expanded:
                continue
            expanded.add(key)
            try:
                dist = metadata.distribution(name)
            except metadata.PackageNotFoundError:
                continue
            if canonicalize_name(dist.version) != canonicalize_name(pins[name]):
                continue
            walked += 1
            for spec in dist.requires or []:
                child = Requirement(spec)
                wanted = child.marker is None or any(
                    child.marker.evaluate({**env, "extra": extra}) for extra in ("", *sorted(req.extras))
                )
                if wanted:
                    child.marker = None
                    todo.append((child, f"{name}=={pins[name]}"))
        assert walked >= len(_declared(extras)) // 2, "too few pins installed here to check the lock's closure"


@pytest.mark.parametrize("lock", list(LOCKS.values()), ids=lambda p: p.name)
def test_action_locks_parse_as_pip_hash_checked_requirements(lock: Path, tmp_path: Path) -> None:
    """pip itself reads the whole file in --require-hashes mode: offline, it stops at the first
    package it cannot find (not at a syntax error, an unpinned or an unhashed line)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    argv = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--no-deps", "--no-index"]
    argv += ["--find-links", str(tmp_path), "--require-hashes", "-r", str(lock)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env, check=False)
    errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR:")]
    first = next(req for req, _ in _lock_entries(lock) if req.marker is None or req.marker.evaluate())
    assert done.returncode == 1 and errors == [
        f"ERROR: Could not find a version that satisfies the requirement {first} (from versions: none)",
        f"ERROR: No matching distribution found for {first}",
    ], done.stdout + done.stderr


def test_action_outputs_are_what_mendbot_action_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"ref": "refs/heads/main"}))
    output = tmp_path / "output"
    for name in [k for k in os.environ if k.startswith(("GITHUB_", "INPUT_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("GITHUB_EVENT_NAME", "push")
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    assert main(["action"]) == 0
    written = {line.split("=", 1)[0] for line in output.read_text().splitlines()}
    action = load_yaml(ACTION)
    assert written == set(action["outputs"])
    for name, spec in action["outputs"].items():
        assert spec["value"] == "${{ steps.review.outputs." + name + " }}"
    capsys.readouterr()


def test_action_docs_list_every_input_and_output() -> None:
    doc = (ROOT / "docs" / "github-action.md").read_text(encoding="utf-8")
    action = load_yaml(ACTION)
    documented = set(re.findall(r"^\| `([a-z-]+)` \|", doc, flags=re.M))
    assert set(action["inputs"]) | set(action["outputs"]) == documented


def test_ci_runs_the_readme_test_command() -> None:
    ci = load_yaml(ROOT / ".github" / "workflows" / "ci.yml")
    runs = [step.get("run", "") for job in ci["jobs"].values() for step in job["steps"]]
    assert any(run.split()[:2] == ["make", "test"] for run in runs)
    assert "`make test`" in (ROOT / "README.md").read_text()


# --- the wheel ------------------------------------------------------------------------

# What `pip install mendbot` (no extra) must not pull in: the services' and the model's runtimes.
NOT_IN_THE_BASE_INSTALL = {"celery", "redis", "pygithub", "pyjwt", "uvicorn", "starlette", "prometheus-client"}
NOT_IN_THE_BASE_INSTALL |= {"onnxruntime", "onnxruntime-gpu", "tokenizers", "numpy", "torch"}


WHEEL_INPUTS = ["pyproject.toml", "README.md", "LICENSE", "bot", "models", "workers"]


def _source_tree(dest: Path) -> Path:
    """What a fresh checkout builds from (no build/ or egg-info left over from earlier builds)."""
    names: list[str] = []
    if shutil.which("git") and (ROOT / ".git").exists():
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *WHEEL_INPUTS],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        names = [n for n in listed.stdout.decode().split("\0") if n and (ROOT / n).is_file()]
    if not names:
        names = [str(p.relative_to(ROOT)) for top in WHEEL_INPUTS for p in [ROOT / top, *(ROOT / top).rglob("*")]]
        names = [n for n in names if (ROOT / n).is_file() and "__pycache__" not in n]
    for name in names:
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, dest / name)
    return dest


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = _source_tree(tmp_path_factory.mktemp("src"))
    out = tmp_path_factory.mktemp("wheel")
    argv = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(src)]
    build = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["build-system"]["requires"]
    try:
        offline = all(
            Requirement(spec).specifier.contains(metadata.version(Requirement(spec).name), prereleases=True)
            for spec in build
        )
    except metadata.PackageNotFoundError:
        offline = False
    if offline:  # this environment has the build backend: no download
        argv.insert(5, "--no-build-isolation")
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    said = done.stdout + done.stderr
    if done.returncode != 0 and not offline and "No matching distribution found for" in said:
        pytest.skip(f"the build backend ({', '.join(build)}) is neither installed nor downloadable here")
    assert done.returncode == 0, said
    (built,) = out.glob("mendbot-*.whl")
    return built


def test_the_wheel_ships_the_license_and_type_markers_and_no_simulator(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (info,) = {name.split("/")[0] for name in names if name.split("/")[0].endswith(".dist-info")}
        assert archive.read(f"{info}/licenses/LICENSE") == (ROOT / "LICENSE").read_bytes()
        meta = Parser().parsestr(archive.read(f"{info}/METADATA").decode())
    license_text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in license_text and "Version 2.0, January 2004" in license_text
    assert "END OF TERMS AND CONDITIONS" in license_text  # the full text, not a notice
    assert meta["License-Expression"] == "Apache-2.0" and meta.get_all("License-File") == ["LICENSE"]
    for package in ("bot", "models", "workers"):
        assert f"{package}/py.typed" in names, f"{package} is not marked typed (PEP 561)"
    tops = {name.split("/")[0] for name in names} - {info}
    assert tops == {"bot", "models", "workers"}, tops  # no ghsim, no tests, nothing stray
    assert not [name for name in names if "ghsim" in name or "simulator" in name.split("/")[-1]]


def test_the_base_install_is_the_cli_only(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        (info,) = {name.split("/")[0] for name in archive.namelist() if name.split("/")[0].endswith(".dist-info")}
        meta = Parser().parsestr(archive.read(f"{info}/METADATA").decode())
    requires = [Requirement(spec) for spec in meta.get_all("Requires-Dist") or []]

    def wanted(extra: str) -> set[str]:
        return {
            canonicalize_name(req.name)
            for req in requires
            if req.marker is None or req.marker.evaluate({"extra": extra})
        }

    base = wanted("")
    assert {"bandit", "libcst", "ruff", "pydantic"} <= base
    assert not base & NOT_IN_THE_BASE_INSTALL, base & NOT_IN_THE_BASE_INSTALL
    assert {"pygithub", "pyjwt", "redis", "prometheus-client"} <= wanted("action")
    assert {"celery", "uvicorn", "starlette"} <= wanted("app") and "mendbot" in wanted("app")
    assert {"onnxruntime", "tokenizers"} <= wanted("cpu") and "onnxruntime" not in wanted("gpu")
    assert set(meta.get_all("Provides-Extra") or []) >= {"action", "app", "cpu", "gpu"}


# --- Docker ---------------------------------------------------------------------------


def stages(path: Path) -> dict[str, list[tuple[str, str]]]:
    """Instructions per build stage (continuation lines joined, comments dropped)."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    out: dict[str, list[tuple[str, str]]] = {}
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if keyword.upper() == "FROM":
            parts = rest.split()
            current = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else parts[0]
            out[current] = []
        if current:
            out[current].append((keyword.upper(), rest.strip()))
    return out


def effective(all_stages: dict[str, list[tuple[str, str]]], name: str, keyword: str) -> str | None:
    """The last `keyword` instruction seen by stage `name`, following FROM <stage> chains."""
    value = None
    for kw, rest in all_stages[name]:
        if kw == "FROM" and rest.split()[0] in all_stages:
            value = effective(all_stages, rest.split()[0], keyword)
        elif kw == keyword:
            value = rest
    return value


@pytest.mark.parametrize(
    ("dockerfile", "stage", "command", "extra"),
    [
        ("Dockerfile", "receiver", "serve", ".[app]"),
        ("Dockerfile", "worker", "worker", ".[app,cpu]"),
        ("Dockerfile.gpu", "worker-gpu", "worker", ".[app,gpu]"),
    ],
)
def test_images_are_non_root_and_run_the_tested_cli(dockerfile: str, stage: str, command: str, extra: str) -> None:
    path = ROOT / "docker" / dockerfile
    all_stages = stages(path)
    user = effective(all_stages, stage, "USER")
    assert user is not None and user.split(":")[0] not in ("root", "0")
    assert json.loads(effective(all_stages, stage, "ENTRYPOINT") or "[]") == ["mendbot"]
    argv = json.loads(effective(all_stages, stage, "CMD") or "[]")
    args = build_parser(wiring()).parse_args(argv)  # the same CLI the tests drive
    assert args.command == command
    # The virtual environment the stage runs comes from the build stage it copies /opt/mendbot from,
    # which installs the services' extra (`app`: a bare `pip install .` is only the CLI).
    (source,) = [
        rest.split()[0].removeprefix("--from=")
        for kw, rest in all_stages[stage]
        if kw == "COPY" and rest.startswith("--from=") and "/opt/mendbot" in rest
    ]
    installs = " ".join(rest for kw, rest in all_stages[source] if kw == "RUN")
    assert f'pip install "{extra}"' in installs or f"pip install {extra}" in installs
    base = path.read_text()
    if dockerfile == "Dockerfile.gpu":
        assert re.search(r"ARG CUDA_IMAGE=nvidia/cuda:\d+\.\d+\.\d+-[a-z-]+-ubuntu\d+\.\d+", base)
        assert command == "worker" and args.queues == "model"
    else:
        version = re.search(r"ARG PYTHON_VERSION=(\d+)\.(\d+)", base)
        assert version and (int(version[1]), int(version[2])) >= (3, 12)


@pytest.mark.parametrize("dockerfile", [path.name for path in DOCKERFILES])
def test_images_build_from_everything_the_wheel_needs(dockerfile: str) -> None:
    """The build context (the .dockerignore allow-list) and the COPYs carry each wheel input
    (LICENSE included: pyproject's license-files names it)."""
    path = ROOT / "docker" / dockerfile
    copied = {
        source.rstrip("/")
        for steps in stages(path).values()
        for kw, rest in steps
        if kw == "COPY" and not rest.startswith("--from=")
        for source in rest.split()[:-1]
    }
    allowed = {
        line[1:].rstrip("/")
        for line in (path.parent / f"{dockerfile}.dockerignore").read_text(encoding="utf-8").splitlines()
        if line.startswith("!")
    }
    assert set(WHEEL_INPUTS) <= copied and set(WHEEL_INPUTS) <= allowed, (set(WHEEL_INPUTS) - copied, allowed)


def compose_services() -> dict[str, Any]:
    text = COMPOSE.read_text(encoding="utf-8")
    text = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", text)  # compose's ${VAR:-default}
    services: dict[str, Any] = yaml.safe_load(text)["services"]
    return services


def test_compose_wires_redis_receiver_workers_gpu_profile_and_flower() -> None:
    services = compose_services()
    assert set(services) == {"redis", "receiver", "worker", "scheduler", "worker-gpu", "flower"}
    parser = build_parser(wiring())
    receiver = parser.parse_args(services["receiver"]["command"])
    assert receiver.command == "serve" and receiver.host == "0.0.0.0"
    assert "secrets" not in services["receiver"], "the internet-facing receiver never holds the App key"
    beats = []
    for name in ("worker", "scheduler", "worker-gpu"):
        spec = services[name]
        args = parser.parse_args(spec["command"])
        assert args.command == "worker"
        assert spec["secrets"] == ["github-app-key"]
        assert spec["environment"]["MENDBOT_GITHUB_PRIVATE_KEY_PATH"] == "/run/secrets/github-app-key"
        assert spec["depends_on"]["redis"]["condition"] == "service_healthy"
        if args.beat:
            beats.append(name)
    assert beats == ["scheduler"], "exactly one Celery beat"
    assert parser.parse_args(services["worker"]["command"]).queues == "review,model"
    gpu = services["worker-gpu"]
    assert gpu["profiles"] == ["gpu"] and parser.parse_args(gpu["command"]).queues == "model"
    assert gpu["deploy"]["resources"]["reservations"]["devices"][0]["driver"] == "nvidia"
    assert gpu["build"]["dockerfile"] == "docker/Dockerfile.gpu"
    assert services["flower"]["ports"] == ["127.0.0.1:5555:5555"]
    for name in ("receiver", "worker", "scheduler", "worker-gpu"):
        assert services[name]["read_only"] is True and services[name]["cap_drop"] == ["ALL"]
        assert services[name]["environment"]["REDIS_URL"] == "redis://redis:6379/0"


# --- the GitHub App -------------------------------------------------------------------


def test_app_manifest_is_least_privilege_and_points_at_the_receiver() -> None:
    from bot.github.webhook import create_app

    manifest = json.loads(MANIFEST.read_text())
    assert manifest["default_permissions"] == {
        "contents": "read",
        "metadata": "read",
        "pull_requests": "write",
        "checks": "write",
    }
    assert manifest["default_events"] == ["pull_request"]
    assert manifest["public"] is False
    routes = {route.path for route in create_app(ServiceSettings(webhook_secret="x")).routes}  # type: ignore[attr-defined]
    assert manifest["hook_attributes"]["url"].startswith("https://")
    assert "/" + manifest["hook_attributes"]["url"].rsplit("/", 1)[1] in routes


def test_a_whole_review_needs_no_more_than_the_manifest_grants() -> None:
    """An App with exactly the manifest's permissions reviews a PR: review, summary, check run."""
    manifest = json.loads(MANIFEST.read_text())
    with SimulatorServer(Simulator()) as server:
        sim = server.sim
        repo = "octo-org/service"
        app = sim.create_app(
            slug="mendbot", permissions=manifest["default_permissions"], events=manifest["default_events"]
        )
        installation = sim.install_app(app.id, "octo-org", [repo])
        base = {"svc.py": "import yaml\n\n\ndef load(s):\n    return s\n", ".mendbot.toml": "max_comments = 10\n"}
        head = {**base, "svc.py": "import yaml\n\n\ndef load(s):\n    return yaml.load(s)\n"}
        pr = sim.create_pull_request(repo, base, head, number=1)
        assert app.private_key_pem is not None
        settings = ServiceSettings(
            github_api_url=server.base_url,
            github_app_id=str(app.id),
            github_private_key=app.private_key_pem.decode(),
            write_interval_seconds=0,
        )
        outcome = review_pull_request(GitHubClient(settings, installation.id, None), repo, 1, pr.head_sha)
        assert outcome.status == "reviewed" and outcome.comments == 1
        assert len(sim.check_runs_for(repo, pr.head_sha)) == 1
        assert any("mendbot:summary" in c.body for c in sim.issue_comments_for(repo, 1))
        assert not [r for r in sim.requests if r.status == 403], "a call needed more than the manifest grants"
        assert sim.errors == []


def env_names() -> set[str]:
    names = set()
    for name, spec in ServiceSettings.model_fields.items():
        alias = spec.validation_alias
        names.add(alias if isinstance(alias, str) else f"MENDBOT_{name.upper()}")
    return names


def test_app_docs_list_every_service_setting() -> None:
    doc = (ROOT / "docs" / "github-app" / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", doc, flags=re.M))
    assert documented == env_names()
    example = (ROOT / "docker" / "mendbot.env.example").read_text(encoding="utf-8")
    for name in re.findall(r"^#?\s*([A-Z][A-Z_]+)=", example, flags=re.M):
        assert name in env_names() or name == "MENDBOT_GITHUB_PRIVATE_KEY_FILE", name


@pytest.fixture
def bare_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in [k for k in os.environ if k.startswith("MENDBOT_") or k == "REDIS_URL"]:
        monkeypatch.delenv(name)
    return monkeypatch


def test_services_name_each_missing_setting_at_start_up(
    bare_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve"]) == 2
    assert "MENDBOT_WEBHOOK_SECRET" in capsys.readouterr().err
    assert main(["worker"]) == 2
    assert "MENDBOT_GITHUB_APP_ID" in capsys.readouterr().err
    bare_env.setenv("MENDBOT_GITHUB_APP_ID", "123")
    assert main(["worker"]) == 2
    assert "MENDBOT_GITHUB_PRIVATE_KEY_PATH" in capsys.readouterr().err
    bare_env.setenv("MENDBOT_GITHUB_PRIVATE_KEY_PATH", str(tmp_path / "missing.pem"))
    assert main(["worker"]) == 2
    err = capsys.readouterr().err
    assert "MENDBOT_GITHUB_PRIVATE_KEY_PATH" in err and "missing.pem" in err


# --- local use ------------------------------------------------------------------------

VULNERABLE = "import yaml\n\n\ndef load(text):\n    return yaml.load(text)\n"


def _mendbot(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "mendbot"), *args], capture_output=True, text=True, timeout=60, cwd=cwd, env=env, check=False
    )


def test_pre_commit_hooks_run_mendbot_on_the_files_given(tmp_path: Path) -> None:
    hooks = {hook["id"]: hook for hook in load_yaml(HOOKS)}
    assert set(hooks) == {"mendbot", "mendbot-fix"}
    target = tmp_path / "app.py"
    target.write_text(VULNERABLE)
    env = {**os.environ, "HOME": str(tmp_path)}
    # `--fix` exits 0 once every finding at --fail-on is fixed (pre-commit still fails the hook:
    # it sees the file change and asks to re-stage it).
    for hook_id, expect_fixed in (("mendbot", False), ("mendbot-fix", True)):
        hook = hooks[hook_id]
        assert hook["language"] == "python" and hook["types"] == ["python"]
        argv = shlex.split(hook["entry"])
        assert argv[0] == "mendbot"
        # pre-commit appends the staged file names to the entry.
        done = _mendbot([*argv[1:], "--no-cache", str(target)], tmp_path, env)
        assert done.returncode == (0 if expect_fixed else 1) and "B506" in done.stdout, done.stdout + done.stderr
        assert ("yaml.safe_load(text)" in target.read_text()) is expect_fixed
    # A file pre-commit names explicitly is still excluded when the project excludes it.
    target.write_text(VULNERABLE)
    (tmp_path / "pyproject.toml").write_text('[tool.mendbot]\nexclude = ["app.py"]\n')
    done = _mendbot(["scan", "--no-progress", "--no-cache", str(target)], tmp_path, env)
    assert done.returncode == 0 and "B506" not in done.stdout, done.stdout + done.stderr


@pytest.fixture
def someones_redis() -> Iterator[redis.Redis]:
    """A Redis somebody uses (a server this test starts, never a shared one): one key in db 3."""
    if not PrivateRedis.available():
        pytest.skip("redis-server is not installed")
    with PrivateRedis() as server:
        client = redis.Redis.from_url(server.url.removesuffix("/0") + "/3")
        client.set("precious", b"keep me")
        yield client
        client.close()


def _url(client: redis.Redis, db: int | None = None) -> str:
    kwargs = client.connection_pool.connection_kwargs
    return f"redis://{kwargs['host']}:{kwargs['port']}/{kwargs['db'] if db is None else db}"


def _untouched(client: redis.Redis) -> None:
    assert client.get("precious") == b"keep me" and client.dbsize() == 1
    assert list(client.info("keyspace")) == ["db3"], "the demo wrote into another database of that server"


def test_demo_refuses_a_database_with_keys_when_it_cannot_start_its_own_redis(
    someones_redis: redis.Redis, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(PrivateRedis, "available", staticmethod(lambda: False))  # as without redis-server
    out = io.StringIO()
    assert run_demo(_url(someones_redis), Console(file=out)) == 2
    err = capsys.readouterr().err
    assert _url(someones_redis) in err and "holds 1 key(s)" in err and "never empties" in err, err
    assert "redis-server" in err  # what to do instead
    _untouched(someones_redis)
    assert run_demo(None, Console(file=out)) == 2
    assert "redis-server is not installed" in capsys.readouterr().err


def test_demo_runs_on_its_own_redis_beside_a_database_with_keys(someones_redis: redis.Redis) -> None:
    out = io.StringIO()
    assert run_demo(_url(someones_redis), Console(file=out, width=200)) == 0
    said = out.getvalue()
    assert f"Not using {_url(someones_redis)}" in said and "a private redis-server on redis://127.0.0.1:" in said
    assert "Check run mendbot: failure" in said  # the whole demo ran
    _untouched(someones_redis)


def test_demo_on_an_empty_database_handed_in_leaves_it_empty(someones_redis: redis.Redis) -> None:
    empty = _url(someones_redis, db=5)
    out = io.StringIO()
    assert run_demo(empty, Console(file=out, width=200)) == 0
    said = out.getvalue()
    assert f"Redis: {empty} (empty" in said and "Check run mendbot: failure" in said
    assert redis.Redis.from_url(empty).dbsize() == 0, "the demo left keys behind"
    _untouched(someones_redis)


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_scan_format_review_previews_the_pull_request_review(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "app.py").write_text("import yaml\n\n\ndef load(text):\n    return text\n")
    (tmp_path / "old.py").write_text(VULNERABLE.replace("load(text)", "old(text)", 1))  # not in the diff
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "-c", "user.email=a@b", "-c", "user.name=a", "add", ".")
    git(tmp_path, "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "base")
    (tmp_path / "app.py").write_text(VULNERABLE)
    monkeypatch.chdir(tmp_path)
    code = main(["scan", ".", "--changed-since", "main", "--format", "review", "--no-cache"])
    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith("# mendbot review preview")
    assert "### `app.py` line 5" in out and "```suggestion\n    return yaml.safe_load(text)\n```" in out
    assert "## Summary comment" in out and "**1** finding(s)" in out
    assert "old.py" not in out  # only what the branch changed, like the PR
    assert "<!--" not in out
    # Without a diff every line counts as changed: old.py's finding is commented too.
    assert main(["scan", ".", "--format", "review", "--no-cache"]) == 1
    assert "### `old.py` line 5" in capsys.readouterr().out


# --- docs -----------------------------------------------------------------------------


def test_relative_links_in_the_docs_resolve() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+://", target):
                continue
            assert (page.parent / target).exists(), f"{page.relative_to(ROOT)} links to missing {target}"


def test_readme_covers_the_three_ways_security_and_scaling() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for heading in ("## The two commands", "## Three ways to run it", "## Configuration", "## Security model"):
        assert heading in readme
    assert "## Scaling out" in readme and "`model` queue" in readme
    for claim in ("No PR code is executed", "base branch", "redacted", "What the App can access"):
        assert claim in readme
