"""B201: a Flask app started with `debug=True` serves the Werkzeug debugger.

Bandit flags any `<x>.run(debug=True)` in a module that imports flask. The
debugger's console evaluates Python sent from the browser, so a reachable debug
server is remote code execution; `debug=False` removes it. Runners whose
`debug` flag means something else (asyncio's slow-callback logging) are left
alone even when the module imports flask.
"""

from __future__ import annotations

import libcst as cst

from bot.engine.findings import FixConfidence
from bot.engine.fixers.base import Case, Edit, FixContext, Fixer, has_star_args, keyword, m, set_keyword
from bot.engine.fixers.registry import register

# `.run(debug=...)` callables that are not web servers: their debug flag is harmless.
_NOT_A_SERVER = ("asyncio.run", "asyncio.Runner", "trio.run", "anyio.run", "unittest.main")


@register
class FlaskDebugOff(Fixer):
    rule_ids = ("B201",)
    name = "flask-debug-off"
    title = "Run the Flask app with debug=False"
    explanation = (
        "`app.run(debug=True)` starts the Werkzeug interactive debugger, whose in-browser console runs "
        "arbitrary Python on the server for anyone who can reach it (the PIN is not a real barrier). "
        "`debug=False` turns the debugger and reloader off; enable debugging locally with "
        "`flask run --debug` instead of hard-coding it."
    )
    references = (
        "https://cwe.mitre.org/data/definitions/94.html",
        "https://flask.palletsprojects.com/en/latest/debugging/",
        "https://werkzeug.palletsprojects.com/en/latest/debug/",
        "https://bandit.readthedocs.io/en/latest/plugins/b201_flask_debug_true.html",
    )
    confidence = FixConfidence.SAFE
    cases = (
        Case(
            "from flask import Flask\n\napp = Flask(__name__)\napp.run(debug=True)\n",
            "from flask import Flask\n\napp = Flask(__name__)\napp.run(debug=False)\n",
            "B201",
        ),
        Case(
            "import flask as f\n\napp = f.Flask('é')\n\nif __name__ == '__main__':\n"
            "    app.run(host='127.0.0.1', debug=True, port=5000)  # démarrer\n",
            "import flask as f\n\napp = f.Flask('é')\n\nif __name__ == '__main__':\n"
            "    app.run(host='127.0.0.1', debug=False, port=5000)  # démarrer\n",
            "B201",
            note="alias import, nested in an if block, keyword in the middle, non-ASCII comment",
        ),
        Case(
            "from flask import Flask\nfrom flask_socketio import SocketIO\n\nsocketio = SocketIO(Flask(__name__))\n\n\n"
            "def main():\n    socketio.run(\n        port=8000,\n        debug=True,\n    )\n",
            "from flask import Flask\nfrom flask_socketio import SocketIO\n\nsocketio = SocketIO(Flask(__name__))\n\n\n"
            "def main():\n    socketio.run(\n        port=8000,\n        debug=False,\n    )\n",
            "B201",
            note="another runner of a Flask app, multi-line call",
        ),
        Case("from flask import Flask\n\napp = Flask(__name__)\napp.run(debug=False)\n", note="already off"),
        Case(
            "import asyncio\nimport flask\n\nasyncio.run(main(), debug=True)\n",
            note="asyncio's debug mode is not the Werkzeug debugger",
        ),
        Case(
            "from flask import Flask\n\napp = Flask(__name__)\napp.run(debug=True, **opts)\n",
            note="**opts: declined",
        ),
    )

    def fix(self, ctx: FixContext) -> Edit | None:
        call = ctx.flagged
        if not isinstance(call, cst.Call) or not m.matches(call.func, m.Attribute(attr=m.Name("run"))):
            return None
        if not ctx.module_imports("flask") or ctx.refers_to(call.func, *_NOT_A_SERVER):
            return None
        if has_star_args(call):
            return None
        debug = keyword(call, "debug")
        if debug is None or not m.matches(debug.value, m.Name("True")):
            return None
        return Edit(call, set_keyword(call, "debug", cst.Name("False")), "run the app with debug=False")
