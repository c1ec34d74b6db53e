"""Model tests run on the shipped artifact with onnxruntime + tokenizers (the `cpu` extra).

They skip, with the reason, where those packages are missing; the project's test
command installs `.[dev,cpu]` so they run in CI. Nothing here needs torch.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from models.runtime import DEFAULT_MODEL_DIR

RUNTIME_MISSING = [m for m in ("onnxruntime", "tokenizers") if importlib.util.find_spec(m) is None]
needs_runtime = pytest.mark.skipif(
    bool(RUNTIME_MISSING), reason=f"{', '.join(RUNTIME_MISSING)} not installed (pip install -e '.[cpu]')"
)
HAS_TORCH = importlib.util.find_spec("torch") is not None and importlib.util.find_spec("optimum") is not None


@pytest.fixture(scope="session")
def model_dir() -> Path:
    return DEFAULT_MODEL_DIR


@pytest.fixture(scope="session")
def model(model_dir: Path):  # type: ignore[no-untyped-def]
    if RUNTIME_MISSING:
        pytest.skip(f"{', '.join(RUNTIME_MISSING)} not installed")
    from models.runtime import Seq2SeqOnnx

    return Seq2SeqOnnx(model_dir, providers=["CPUExecutionProvider"])
