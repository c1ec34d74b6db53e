"""The inference runtime: numpy + tokenizers + onnxruntime, nothing else.

Why a hand-written decoding loop instead of optimum's ORTModelForSeq2SeqLM: the
worker must not import torch, transformers or optimum (hundreds of MB, seconds of
import), and measured here this loop gave identical text to PyTorch `generate`
and was the fastest option (shared/reference/model.md §4.3, §6).

- Providers: CUDA first, CPU as fallback (override with `providers=` or
  `MENDBOT_MODEL_PROVIDERS=CPUExecutionProvider`). A session asked for CUDA that
  cannot load it silently runs on CPU, so `active_provider` reports what
  `session.get_providers()` says actually runs.
- One intra-op thread by default: two were slower on 2-core machines; scale by
  processes. `MENDBOT_MODEL_THREADS` overrides.
- Decoder layouts: the merged decoder (one graph, `use_cache_branch`) that the
  shipped artifact uses, or split decoder + decoder-with-past (what older
  exports of user checkpoints may carry).
- Greedy and beam search, batched, with the KV cache; on CUDA the greedy loop
  keeps the cache on the device with IO binding.
- Every file listed in `manifest.json` is checked against its SHA-256 at load.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_PROVIDERS = ("CUDAExecutionProvider", "CPUExecutionProvider")
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "mendfix_tiny"


class ModelUnavailable(RuntimeError):
    """The model cannot be used here: a missing runtime package, artifact or a bad checksum."""


def _import_ort() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise ModelUnavailable(
            "onnxruntime is not installed: install exactly one of `pip install 'mendbot[cpu]'` (onnxruntime) or "
            "`pip install 'mendbot[gpu]'` (onnxruntime-gpu); they overwrite each other, never install both"
        ) from None
    if not hasattr(onnxruntime, "InferenceSession"):
        raise ModelUnavailable(
            "onnxruntime is broken (onnxruntime and onnxruntime-gpu were both installed, then one removed): "
            "reinstall exactly one with `pip install --force-reinstall --no-deps onnxruntime` (or onnxruntime-gpu)"
        )
    return onnxruntime


def _import_tokenizers() -> Any:
    try:
        import tokenizers
    except ImportError:
        raise ModelUnavailable("tokenizers is not installed: install `mendbot[cpu]` or `mendbot[gpu]`") from None
    return tokenizers


def verify_manifest(model_dir: Path) -> dict[str, Any]:
    """Load manifest.json and check size and SHA-256 of every file it lists."""
    path = model_dir / "manifest.json"
    if not path.exists():
        raise ModelUnavailable(f"{model_dir}: no manifest.json (not a mendbot model artifact)")
    manifest: dict[str, Any] = json.loads(path.read_text())
    for name, meta in manifest["files"].items():
        file = model_dir / name
        if not file.exists():
            raise ModelUnavailable(f"{model_dir}: {name} is listed in the manifest but missing")
        if file.stat().st_size != meta["bytes"]:
            raise ModelUnavailable(
                f"{model_dir}: {name} has {file.stat().st_size} bytes, manifest says {meta['bytes']}"
            )
        digest = hashlib.sha256(file.read_bytes()).hexdigest()
        if digest != meta["sha256"]:
            raise ModelUnavailable(f"{model_dir}: {name} does not match its SHA-256 in the manifest")
    return manifest


@dataclass(frozen=True)
class Hypothesis:
    """One decoded output: text, summed log-probability, token count, and a 0–1 score."""

    text: str
    logprob: float
    length: int

    @property
    def score(self) -> float:
        """Geometric-mean token probability: comparable across lengths."""
        return float(np.exp(self.logprob / max(1, self.length)))


def _log_softmax(x: np.ndarray) -> np.ndarray:
    m = x.max(axis=-1, keepdims=True)
    z = x - m
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


class Seq2SeqOnnx:
    """An exported encoder-decoder artifact, ready to generate."""

    def __init__(
        self,
        model_dir: str | Path = DEFAULT_MODEL_DIR,
        providers: list[str] | tuple[str, ...] | None = None,
        threads: int | None = None,
        verify: bool = True,
    ) -> None:
        t0 = time.perf_counter()
        ort = _import_ort()
        tokenizers = _import_tokenizers()
        self.model_dir = Path(model_dir)
        self.manifest = (
            verify_manifest(self.model_dir) if verify else json.loads((self.model_dir / "manifest.json").read_text())
        )
        gen = self.manifest["generation"]
        self.decoder_start = int(gen["decoder_start_token_id"])
        self.eos = int(gen["eos_token_id"])
        self.pad = int(gen["pad_token_id"])
        self.max_new_tokens = int(gen.get("max_new_tokens", 160))
        # "edit-v1": outputs are hunks over the statement; "statement": whole replacements (models.format).
        self.output_format = str(self.manifest.get("output_format", "statement"))
        self.tokenizer = tokenizers.Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        # A tokenizer.json saved by transformers after a padded call keeps that padding (and any
        # truncation) switched on: padded ids would then be counted as real tokens in the mask.
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        lexicon_file = self.model_dir / "lexicon.json"  # present when trained on abstracted code
        self.lexicon: frozenset[str] | None = (
            frozenset(json.loads(lexicon_file.read_text())) if lexicon_file.exists() else None
        )
        vocab_file = self.model_dir / "edit_vocab.json"
        self.edit_vocab: dict[str, dict[str, list[str]]] | None = (
            json.loads(vocab_file.read_text()) if vocab_file.exists() else None
        )
        wanted = list(providers) if providers else _providers_from_env()
        available = set(ort.get_available_providers())
        requested = [p for p in wanted if p in available] or ["CPUExecutionProvider"]
        options = ort.SessionOptions()
        n = threads if threads is not None else int(os.environ.get("MENDBOT_MODEL_THREADS", "1"))
        options.intra_op_num_threads = n
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._ort = ort

        def session(name: str) -> Any:
            return ort.InferenceSession(str(self.model_dir / name), sess_options=options, providers=requested)

        self.layout = self.manifest.get("decoder_layout", "merged")
        self.encoder = session("encoder_model.onnx")
        if self.layout == "merged":
            self.decoder = session("decoder_model_merged.onnx")
            self.decoder_with_past = self.decoder
        else:
            self.decoder = session("decoder_model.onnx")
            self.decoder_with_past = session("decoder_with_past_model.onnx")
        self.requested_providers = requested
        self.providers = self.encoder.get_providers()
        self.active_provider = self.providers[0]
        self.device = "cuda" if self.active_provider == "CUDAExecutionProvider" else "cpu"
        names = [i.name for i in self.decoder_with_past.get_inputs()]
        self.past_names = [n for n in names if n.startswith("past_key_values.")]
        shape = next(i.shape for i in self.decoder_with_past.get_inputs() if i.name.startswith("past_key_values."))
        self.heads, self.head_dim = int(shape[1]), int(shape[3])
        self.dtype = np.float16 if "float16" in next(
            i.type for i in self.decoder_with_past.get_inputs() if i.name.startswith("past_key_values.")
        ) else np.float32  # fmt: skip
        self.load_seconds = time.perf_counter() - t0

    # --- plumbing ---------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """What actually runs (for logs, `mendbot model info` and the worker's start-up line)."""
        return {
            "model": self.manifest.get("name"),
            "dir": str(self.model_dir),
            "requested_providers": self.requested_providers,
            "providers": self.providers,
            "active_provider": self.active_provider,
            "decoder_layout": self.layout,
            "output_format": self.output_format,
            "abstraction": f"{len(self.lexicon)}-lexeme lexicon" if self.lexicon is not None else None,
            "quantization": self.manifest.get("quantization"),
            "load_seconds": round(self.load_seconds, 3),
        }

    def _encode(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        encs = self.tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encs)
        ids = np.full((len(texts), width), self.pad, dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        for row, enc in enumerate(encs):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1
        return ids, mask

    def _first_step(
        self, tokens: np.ndarray, hidden: np.ndarray, mask: np.ndarray
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        feeds: dict[str, np.ndarray] = {
            "input_ids": tokens,
            "encoder_hidden_states": hidden,
            "encoder_attention_mask": mask,
        }
        if self.layout == "merged":
            batch = tokens.shape[0]
            for name in self.past_names:
                length = 1 if ".decoder." in name else hidden.shape[1]
                feeds[name] = np.zeros((batch, self.heads, length, self.head_dim), dtype=self.dtype)
            feeds["use_cache_branch"] = np.array([False])
        outputs = self.decoder.run(None, feeds)
        named = dict(zip([o.name for o in self.decoder.get_outputs()], outputs, strict=True))
        past = {
            name.replace("present.", "past_key_values."): value
            for name, value in named.items()
            if name.startswith("present.")
        }
        return named["logits"][:, -1, :], past

    def _next_step(
        self, tokens: np.ndarray, mask: np.ndarray, past: dict[str, np.ndarray], hidden: np.ndarray
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        feeds: dict[str, np.ndarray] = {"input_ids": tokens, "encoder_attention_mask": mask, **past}
        if self.layout == "merged":
            feeds["encoder_hidden_states"] = hidden
            feeds["use_cache_branch"] = np.array([True])
        outputs = self.decoder_with_past.run(None, feeds)
        named = dict(zip([o.name for o in self.decoder_with_past.get_outputs()], outputs, strict=True))
        new_past = dict(past)
        for name, value in named.items():
            if name.startswith("present.") and ".decoder." in name:
                new_past[name.replace("present.", "past_key_values.")] = value
        return named["logits"][:, -1, :], new_past

    # --- decoding ---------------------------------------------------------------------

    def generate(
        self, texts: list[str], num_beams: int = 1, num_return: int = 1, max_new_tokens: int | None = None
    ) -> list[list[Hypothesis]]:
        """Decode each input; returns up to `num_return` hypotheses per input, best first."""
        if not texts:
            return []
        limit = max_new_tokens or self.max_new_tokens
        if num_beams <= 1:
            if self.device == "cuda":
                return [[h] for h in self._greedy_bound(texts, limit)]
            return [[h] for h in self._greedy(texts, limit)]
        return self._beam(texts, num_beams, max(1, min(num_return, num_beams)), limit)

    def _greedy(self, texts: list[str], limit: int) -> list[Hypothesis]:
        """Greedy on CPU. Rows that finished leave the batch (their KV cache rows are dropped),
        so a batch costs what its unfinished rows cost, not what its longest row costs."""
        ids, mask = self._encode(texts)
        hidden = self.encoder.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        batch = len(texts)
        tokens = np.full((batch, 1), self.decoder_start, dtype=np.int64)
        logits, past = self._first_step(tokens, hidden, mask)
        out: list[list[int]] = [[] for _ in range(batch)]
        logprob = np.zeros(batch)
        rows = np.arange(batch)  # the original row of each row still decoding
        for _ in range(limit):
            nxt, live = self._greedy_step(logits, rows, out, logprob)
            if not live.size:
                break
            if live.size < rows.size:
                rows, nxt, mask, hidden = rows[live], nxt[live], mask[live], hidden[live]
                past = {name: value[live] for name, value in past.items()}
            logits, past = self._next_step(nxt[:, None].astype(np.int64), mask, past, hidden)
        return [Hypothesis(self.tokenizer.decode(o), float(lp), len(o) + 1) for o, lp in zip(out, logprob, strict=True)]

    def _greedy_step(
        self, logits: np.ndarray, rows: np.ndarray, out: list[list[int]], logprob: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each decoding row's next token; extends `out`/`logprob` of the original rows.

        Returns (next tokens, indices of the decoding rows that did not just emit EOS)."""
        logp = _log_softmax(logits.astype(np.float32))
        nxt = logp.argmax(axis=-1)
        logprob[rows] += logp[np.arange(len(rows)), nxt]
        live = np.flatnonzero(nxt != self.eos)
        for i in live:
            out[rows[i]].append(int(nxt[i]))
        return nxt, live

    def _greedy_bound(self, texts: list[str], limit: int) -> list[Hypothesis]:
        """Greedy with IO binding: the KV cache stays on the device between steps (CUDA)."""
        ort = self._ort
        ids, mask = self._encode(texts)
        hidden = self.encoder.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        batch = len(texts)
        device = self.device
        hidden_v = ort.OrtValue.ortvalue_from_numpy(hidden, device, 0)
        mask_v = ort.OrtValue.ortvalue_from_numpy(mask, device, 0)
        tokens = np.full((batch, 1), self.decoder_start, dtype=np.int64)
        logits, past_np = self._first_step(tokens, hidden, mask)
        past = {name: ort.OrtValue.ortvalue_from_numpy(value, device, 0) for name, value in past_np.items()}
        out_names = [o.name for o in self.decoder_with_past.get_outputs()]
        out: list[list[int]] = [[] for _ in range(batch)]
        logprob = np.zeros(batch)
        done = np.zeros(batch, dtype=bool)
        for _ in range(limit):
            # On the device the cache stays where it is: finished rows keep decoding padding.
            decoding = np.flatnonzero(~done)
            step, live = self._greedy_step(logits[decoding], decoding, out, logprob)
            done[decoding] = True
            done[decoding[live]] = False
            if done.all():
                break
            nxt = np.full(batch, self.pad, dtype=np.int64)
            nxt[decoding] = step
            nxt = np.where(done, self.pad, nxt)[:, None].astype(np.int64)
            binding = self.decoder_with_past.io_binding()
            binding.bind_cpu_input("input_ids", nxt)
            binding.bind_ortvalue_input("encoder_attention_mask", mask_v)
            if self.layout == "merged":
                binding.bind_ortvalue_input("encoder_hidden_states", hidden_v)
                binding.bind_cpu_input("use_cache_branch", np.array([True]))
            for name, value in past.items():
                binding.bind_ortvalue_input(name, value)
            for name in out_names:
                binding.bind_output(name, "cpu" if name == "logits" else device)
            self.decoder_with_past.run_with_iobinding(binding)
            results = dict(zip(out_names, binding.get_outputs(), strict=True))
            logits = results["logits"].numpy()[:, -1, :]
            for name, value in results.items():
                if name.startswith("present.") and ".decoder." in name:
                    past[name.replace("present.", "past_key_values.")] = value
        return [Hypothesis(self.tokenizer.decode(o), float(lp), len(o) + 1) for o, lp in zip(out, logprob, strict=True)]

    def _beam(
        self, texts: list[str], k: int, num_return: int, limit: int, length_penalty: float = 1.0
    ) -> list[list[Hypothesis]]:
        """Beam search with the beams as the batch dimension (inputs × k rows)."""
        ids, mask = self._encode(texts)
        hidden = self.encoder.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        n = len(texts)
        hidden = np.repeat(hidden, k, axis=0)
        mask = np.repeat(mask, k, axis=0)
        tokens = np.full((n * k, 1), self.decoder_start, dtype=np.int64)
        logits, past = self._first_step(tokens, hidden, mask)
        beam_scores = np.zeros((n, k))
        beam_scores[:, 1:] = -1e9  # all beams start identical: keep one alive at first
        seqs: list[list[list[int]]] = [[[] for _ in range(k)] for _ in range(n)]
        finished: list[list[tuple[float, list[int], float]]] = [[] for _ in range(n)]
        closed = np.zeros(n, dtype=bool)
        for step in range(limit):
            logp = _log_softmax(logits.astype(np.float32)).reshape(n, k, -1)
            vocab = logp.shape[-1]
            total = (beam_scores[:, :, None] + logp).reshape(n, -1)
            top = np.argsort(-total, axis=1)[:, : 2 * k]
            reorder = np.zeros((n, k), dtype=np.int64)
            next_tokens = np.full((n, k), self.pad, dtype=np.int64)
            new_scores = np.full((n, k), -1e9)
            new_seqs: list[list[list[int]]] = []
            for i in range(n):
                row_seqs: list[list[int]] = []
                if closed[i]:
                    new_seqs.append([[] for _ in range(k)])
                    continue
                for flat in top[i]:
                    beam, token = divmod(int(flat), vocab)
                    score = float(total[i, flat])
                    if score < -1e8:
                        continue
                    if token == self.eos:
                        length = len(seqs[i][beam]) + 1
                        finished[i].append((score / length**length_penalty, seqs[i][beam], score))
                        continue
                    slot = len(row_seqs)
                    reorder[i, slot] = beam
                    next_tokens[i, slot] = token
                    new_scores[i, slot] = score
                    row_seqs.append([*seqs[i][beam], token])
                    if len(row_seqs) == k:
                        break
                while len(row_seqs) < k:
                    row_seqs.append([])
                new_seqs.append(row_seqs)
                best_live = new_scores[i].max() / max(1, step + 1) ** length_penalty
                if len(finished[i]) >= k and max(f[0] for f in finished[i]) >= best_live:
                    closed[i] = True
            seqs = new_seqs
            beam_scores = new_scores
            if closed.all():
                break
            index = (reorder + np.arange(n)[:, None] * k).reshape(-1)
            past = {
                name: np.take(value, index, axis=0) if ".decoder." in name else value for name, value in past.items()
            }
            logits, past = self._next_step(next_tokens.reshape(-1, 1), mask, past, hidden)
        results: list[list[Hypothesis]] = []
        for i in range(n):
            pool = list(finished[i])
            if not pool:  # nothing finished within the limit: take the live beams
                pool = [(beam_scores[i, b] / max(1, len(seqs[i][b])), seqs[i][b], beam_scores[i, b]) for b in range(k)]
            pool.sort(key=lambda item: -item[0])
            seen: set[str] = set()
            hyps: list[Hypothesis] = []
            for _, toks, score in pool:
                text = self.tokenizer.decode(toks)
                if text in seen:
                    continue
                seen.add(text)
                hyps.append(Hypothesis(text, float(score), len(toks) + 1))
                if len(hyps) == num_return:
                    break
            results.append(hyps)
        return results


def _providers_from_env() -> list[str]:
    value = os.environ.get("MENDBOT_MODEL_PROVIDERS", "")
    return [p.strip() for p in value.split(",") if p.strip()] or list(DEFAULT_PROVIDERS)


_CACHE: dict[tuple[str, tuple[str, ...] | None, int | None], Seq2SeqOnnx] = {}


def load(
    model_dir: str | Path | None = None, providers: list[str] | None = None, threads: int | None = None
) -> Seq2SeqOnnx:
    """One loaded model per process and settings: workers load it once, at their first batch."""
    key = (str(model_dir or DEFAULT_MODEL_DIR), tuple(providers) if providers else None, threads)
    if key not in _CACHE:
        _CACHE[key] = Seq2SeqOnnx(model_dir or DEFAULT_MODEL_DIR, providers, threads)
    return _CACHE[key]
