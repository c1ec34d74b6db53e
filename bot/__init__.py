"""mendbot: security review and proven repair of Python pull requests.

`bot` is the engine and its faces (CLI, webhook, review composition). It never
imports `workers` or `models`; they import it (one-way: workers → models → bot).
"""

__version__ = "0.1.0"
