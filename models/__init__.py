"""The learned fixer: dataset, training recipe, optimum export, ONNX runtime, proposer.

Import direction: `workers → models → bot`. The inference path (`models.format`,
`models.runtime`, `models.proposer`, `models.cli`) needs only numpy, tokenizers
and onnxruntime (the `cpu` or `gpu` extra); `models.train` and `models.export`
need the `train` extra and import torch/transformers/optimum lazily.
"""
