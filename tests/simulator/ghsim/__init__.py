"""A GitHub REST API simulator for mendbot's integration tests and demo.

A real HTTP server (Starlette + uvicorn) implementing the part of GitHub's
REST API the bot uses, with GitHub's rules (review anchoring, App JWT and
installation tokens, pagination, rate limits) and fault injection, so the
bot's PyGithub client runs unmodified against it.

    from ghsim import Simulator, SimulatorServer

    with SimulatorServer() as server:
        sim = server.sim
        app = sim.create_app(slug="mendbot")
        sim.create_pull_request("octo/demo", {"a.py": "x = 1\\n"}, {"a.py": "x = 2\\n"})
        inst = sim.install_app(app.id, "octo", ["octo/demo"])
        ...  # run the bot with base_url=server.base_url
        sim.reviews_for("octo/demo", 1)
"""

from ghsim.faults import Faults, RateLimits
from ghsim.server import SimulatorServer, build_app
from ghsim.simulator import Simulator, generate_private_key_pem
from ghsim.webhooks import deliver, pull_request_payload, redeliver, sign

__all__ = [
    "Faults",
    "RateLimits",
    "Simulator",
    "SimulatorServer",
    "build_app",
    "deliver",
    "generate_private_key_pem",
    "pull_request_payload",
    "redeliver",
    "sign",
]
