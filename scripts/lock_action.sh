#!/usr/bin/env bash
# Regenerate the Action's pinned, hashed install sets from pyproject.toml:
#   .github/action-requirements.txt        mendbot[action]       (the default)
#   .github/action-requirements-model.txt  mendbot[action,cpu]   (`model: true`)
# plus the build requirements in .github/action-build-requirements.in (action.yml builds mendbot
# itself with --no-build-isolation). One universal resolution per file: CPython 3.11 and newer,
# every platform, each pin with the hashes of all its files on PyPI.
#
#   scripts/lock_action.sh                      # keep the current pins where they still fit
#   scripts/lock_action.sh --upgrade            # move every pin to the newest allowed
#   scripts/lock_action.sh --upgrade-package X  # move one
#
# Needs network access to PyPI. Uses `uv` from PATH, else installs it into a temporary venv.
set -euo pipefail
cd "$(dirname "$0")/.."

uv="$(command -v uv || true)"
if [ -z "${uv}" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "${tmp}"' EXIT
  python3 -m venv "${tmp}/venv"
  "${tmp}/venv/bin/python" -m pip install --quiet --disable-pip-version-check uv
  uv="${tmp}/venv/bin/uv"
fi

lock() {
  local output="$1" what="$2"
  shift 2
  local extras=()
  local extra
  for extra in "$@"; do extras+=(--extra "${extra}"); done
  UV_CUSTOM_COMPILE_COMMAND="scripts/lock_action.sh" "${uv}" pip compile --quiet \
    pyproject.toml .github/action-build-requirements.in "${extras[@]}" \
    --universal --python-version 3.11 --generate-hashes --index-url https://pypi.org/simple \
    --output-file "${output}" "${LOCK_ARGS[@]}"
  {
    echo "# ${what}: what action.yml installs with \`pip install --require-hashes -r\` before"
    echo "# \`pip install --no-deps --no-build-isolation\` of mendbot itself. Generated, do not edit:"
    echo "# change pyproject.toml, then run scripts/lock_action.sh (tests/test_packaging.py checks it is current)."
    cat "${output}"
  } > "${output}.tmp"
  mv "${output}.tmp" "${output}"
  echo "${output}: $(grep -oE "^[A-Za-z0-9][A-Za-z0-9._-]*==" "${output}" | sort -u | wc -l) packages pinned"
}

LOCK_ARGS=("$@")
lock .github/action-requirements.txt "mendbot[action]" action
lock .github/action-requirements-model.txt "mendbot[action,cpu]" action cpu
