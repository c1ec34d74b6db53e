"""``python -m ghsim --port P --scenario FILE``: run the simulator standalone.

For the local demo and out-of-process tests; seed more or read results via
the ``/_sim/`` control endpoints.
"""

from __future__ import annotations

import argparse
import json
import sys

import uvicorn

from ghsim.scenario import load_scenario_file
from ghsim.server import bind_socket, build_app
from ghsim.simulator import Simulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ghsim", description="Run the GitHub API simulator.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--scenario", help="JSON or TOML scenario file to seed from")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)

    base_url = f"http://{args.host}:{args.port}"
    sim = Simulator(base_url=base_url)
    if args.scenario:
        summary = load_scenario_file(sim, args.scenario)
        for app in summary["apps"]:
            app.pop("private_key_pem", None)
        print(json.dumps({"base_url": base_url, "seeded": summary}, indent=2), flush=True)
    config = uvicorn.Config(build_app(sim), log_level=args.log_level, lifespan="off")
    uvicorn.Server(config).run(sockets=[bind_socket(args.host, args.port)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
