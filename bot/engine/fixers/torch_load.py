"""B614: `torch.load` unpickles the file, so a malicious checkpoint runs code when loaded.

With `weights_only=True` PyTorch uses a restricted unpickler that only rebuilds
tensors, primitive containers and allow-listed types; it is the default since
PyTorch 2.6. Checkpoints that pickled whole model objects or custom classes then
fail to load (they need `torch.serialization.add_safe_globals` or re-saving as a
state dict), so the fix is for review.
"""

from __future__ import annotations

import libcst as cst

from bot.engine.findings import FixConfidence
from bot.engine.fixers.base import Case, Edit, FixContext, Fixer, has_star_args, keyword, m, set_keyword
from bot.engine.fixers.registry import register


@register
class TorchWeightsOnly(Fixer):
    rule_ids = ("B614",)
    name = "torch-load-weights-only"
    title = "Load PyTorch files with weights_only=True"
    explanation = (
        "`torch.load` uses pickle, so loading an untrusted checkpoint can execute arbitrary code. "
        "`weights_only=True` restricts unpickling to tensors and plain data. Files that contain "
        "pickled model objects or custom classes will no longer load and must be re-saved as "
        "state dicts or have their types allow-listed."
    )
    references = (
        "https://cwe.mitre.org/data/definitions/502.html",
        "https://pytorch.org/docs/stable/generated/torch.load.html",
        "https://bandit.readthedocs.io/en/latest/plugins/b614_pytorch_load.html",
    )
    confidence = FixConfidence.REVIEW
    cases = (
        Case(
            "import torch\n\nstate = torch.load('model.pt')\n",
            "import torch\n\nstate = torch.load('model.pt', weights_only=True)\n",
            "B614",
        ),
        Case(
            "import torch\n\nmodel = torch.load(path, map_location='cpu', weights_only=False)  # modèle\n",
            "import torch\n\nmodel = torch.load(path, map_location='cpu', weights_only=True)  # modèle\n",
            "B614",
            note="explicit weights_only=False",
        ),
        Case(
            "import torch\n\n\nclass Trainer:\n    def resume(self, path):\n        ckpt = torch.load(\n"
            "            path,\n            map_location=self.device,\n        )\n        return ckpt\n",
            "import torch\n\n\nclass Trainer:\n    def resume(self, path):\n        ckpt = torch.load(\n"
            "            path,\n            map_location=self.device,\n            weights_only=True,\n"
            "        )\n        return ckpt\n",
            "B614",
            note="multi-line call with a trailing comma",
        ),
        Case(
            "import torch\nimport torch.serialization\n\nsd = torch.serialization.load(buf)\n",
            "import torch\nimport torch.serialization\n\nsd = torch.serialization.load(buf, weights_only=True)\n",
            "B614",
        ),
        Case("import torch\n\nstate = torch.load('model.pt', weights_only=True)\n", note="already safe"),
        Case(
            "import pickle\nimport torch\n\nstate = torch.load(f, pickle_module=pickle)\n",
            note="a custom pickle module cannot be combined with weights_only: declined",
        ),
        Case(
            "import torch\n\nstate = torch.load(f, weights_only=trusted)\n",
            note="a caller-controlled flag: declined",
        ),
    )

    def fix(self, ctx: FixContext) -> Edit | None:
        call = ctx.flagged
        if not isinstance(call, cst.Call) or has_star_args(call):
            return None
        if not ctx.refers_to(call.func, "torch.load", "torch.serialization.load"):
            return None
        positional = [a for a in call.args if a.keyword is None]
        # torch.load(f, map_location=None, pickle_module=None, *, weights_only=None, ...)
        if len(positional) > 2 or keyword(call, "pickle_module") is not None:
            return None
        current = keyword(call, "weights_only")
        if current is not None and not m.matches(current.value, m.Name("False") | m.Name("None")):
            return None
        return Edit(call, set_keyword(call, "weights_only", cst.Name("True")), "load with weights_only=True")
