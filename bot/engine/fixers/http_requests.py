"""B113 and B501: HTTP client calls that can hang forever or skip certificate checks.

Both rules look at the keyword arguments of `requests`/`httpx` calls. Bandit
matches on the *text* of the call (`requests.` prefix), so objects that merely
happen to be called `requests` are false positives; these fixers only act when
libcst resolves the callee to the real module function (aliases included).
"""

from __future__ import annotations

import libcst as cst

from bot.engine.findings import FixConfidence
from bot.engine.fixers.base import Case, Edit, FixContext, Fixer, has_star_args, keyword, m, set_keyword
from bot.engine.fixers.registry import register

_VERBS = ("get", "options", "head", "post", "put", "patch", "delete")
# Bandit's B113 "no timeout" branch only covers requests' verb helpers.
_REQUESTS = tuple(f"requests.{v}" for v in _VERBS) + tuple(f"requests.api.{v}" for v in _VERBS)
# The `timeout=None` / `verify=False` branches also cover httpx's helpers and clients.
_HTTPX = tuple(f"httpx.{v}" for v in (*_VERBS, "request", "stream", "Client", "AsyncClient"))
DEFAULT_TIMEOUT = 30


def _resolved_call(ctx: FixContext, names: tuple[str, ...]) -> cst.Call | None:
    """The flagged call when its callee really is one of `names`, else None."""
    call = ctx.flagged
    if not isinstance(call, cst.Call) or not ctx.refers_to(call.func, *names):
        return None
    return call


@register
class RequestsTimeout(Fixer):
    rule_ids = ("B113",)
    name = "requests-timeout"
    title = f"Add timeout={DEFAULT_TIMEOUT} to the HTTP call"
    explanation = (
        "`requests` waits forever by default when a server accepts the connection but never answers, "
        "so one slow or hostile endpoint can hang a worker indefinitely; `timeout=None` does the same "
        f"explicitly. A finite timeout ({DEFAULT_TIMEOUT} s for connect and for each read) bounds the wait "
        "and turns a hang into a `Timeout` exception the caller can handle."
    )
    references = (
        "https://cwe.mitre.org/data/definitions/400.html",
        "https://requests.readthedocs.io/en/latest/user/advanced/#timeouts",
        "https://www.python-httpx.org/advanced/timeouts/",
        "https://bandit.readthedocs.io/en/latest/plugins/b113_request_without_timeout.html",
    )
    confidence = FixConfidence.SAFE
    cases = (
        Case(
            "import requests\n\nr = requests.get(url)\n",
            "import requests\n\nr = requests.get(url, timeout=30)\n",
            "B113",
        ),
        Case(
            "import requests as rq\n\n\nclass Api:\n    def send(self, body):\n"
            "        return rq.post(self.url, json=body, headers={'X': 'é'})\n",
            "import requests as rq\n\n\nclass Api:\n    def send(self, body):\n"
            "        return rq.post(self.url, json=body, headers={'X': 'é'}, timeout=30)\n",
            "B113",
            note="alias import, inside a method, non-ASCII text on the line",
        ),
        Case(
            "import requests\n\nresp = requests.put(\n    url,\n    data=payload,\n)\n",
            "import requests\n\nresp = requests.put(\n    url,\n    data=payload,\n    timeout=30,\n)\n",
            "B113",
            note="multi-line call with a trailing comma",
        ),
        Case(
            "from requests import delete\n\ndelete(url, timeout=None)\n",
            "from requests import delete\n\ndelete(url, timeout=30)\n",
            "B113",
            note="from-import and an explicit timeout=None",
        ),
        Case(
            "import httpx\n\nclient = httpx.Client(base_url=u, timeout=None)\n",
            "import httpx\n\nclient = httpx.Client(base_url=u, timeout=30)\n",
            "B113",
            note="httpx client with timeouts switched off",
        ),
        Case("import requests\n\nr = requests.get(url, timeout=5)\n", note="already has a timeout"),
        Case(
            "import requests\n\nr = requests.get(url, **options)\n",
            note="**options may already carry a timeout: declined",
        ),
        Case(
            "import requests\n\nr = requests.get(url, timeout=t * 2)\n",
            note="bandit cannot read the expression and flags it; the call has a timeout: declined",
        ),
        Case(
            "class C:\n    def f(self):\n        return self.requests.get(u)\n",
            note="an attribute named `requests`, not the library",
        ),
    )

    def fix(self, ctx: FixContext) -> Edit | None:
        call = _resolved_call(ctx, _REQUESTS + _HTTPX)
        if call is None or has_star_args(call):
            return None  # **options may carry a timeout already; *args is a shape we do not guess at
        current = keyword(call, "timeout")
        if current is None:
            if not ctx.refers_to(call.func, *_REQUESTS):
                return None  # httpx has a default timeout; bandit only flags an explicit None there
        elif not m.matches(current.value, m.Name("None")):
            return None  # an explicit timeout expression bandit could not evaluate
        new_call = set_keyword(call, "timeout", cst.Integer(str(DEFAULT_TIMEOUT)))
        return Edit(call, new_call, f"add timeout={DEFAULT_TIMEOUT} to the HTTP call")


@register
class RequestsVerify(Fixer):
    rule_ids = ("B501",)
    name = "requests-verify"
    title = "Verify TLS certificates (verify=True)"
    explanation = (
        "`verify=False` turns off certificate checking, so anyone on the network path can impersonate "
        "the server and read or change the traffic. `verify=True` restores the library's default "
        "validation; endpoints with a private CA should pass the CA bundle path as `verify=` instead."
    )
    references = (
        "https://cwe.mitre.org/data/definitions/295.html",
        "https://requests.readthedocs.io/en/latest/user/advanced/#ssl-cert-verification",
        "https://www.python-httpx.org/advanced/ssl/",
        "https://bandit.readthedocs.io/en/latest/plugins/b501_request_with_no_cert_validation.html",
    )
    confidence = FixConfidence.SAFE
    cases = (
        Case(
            "import requests\n\nr = requests.get(url, verify=False, timeout=5)\n",
            "import requests\n\nr = requests.get(url, verify=True, timeout=5)\n",
            "B501",
        ),
        Case(
            "import httpx as hx\n\n\ndef make():\n    return hx.AsyncClient(\n"
            "        base_url=u,\n        verify=False,\n    )\n",
            "import httpx as hx\n\n\ndef make():\n    return hx.AsyncClient(\n"
            "        base_url=u,\n        verify=True,\n    )\n",
            "B501",
            note="alias import, multi-line client construction",
        ),
        Case(
            "from requests import post\n\npost(url, data='ü', verify=False, timeout=9)  # call\n",
            "from requests import post\n\npost(url, data='ü', verify=True, timeout=9)  # call\n",
            "B501",
            note="from-import, non-ASCII text and a comment on the line",
        ),
        Case("import requests\n\nr = requests.get(url, verify=ca_bundle, timeout=5)\n", note="a CA bundle: fine"),
        Case(
            "import requests\n\n\nclass S:\n    def f(self):\n        self.requests.get(u, verify=False, timeout=3)\n",
            note="an attribute named `requests`, not the library",
        ),
    )

    def fix(self, ctx: FixContext) -> Edit | None:
        call = _resolved_call(ctx, _REQUESTS + _HTTPX)
        if call is None:
            return None
        current = keyword(call, "verify")
        if current is None or not m.matches(current.value, m.Name("False")):
            return None
        return Edit(call, set_keyword(call, "verify", cst.Name("True")), "set verify=True")
