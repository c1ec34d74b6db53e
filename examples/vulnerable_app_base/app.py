"""A small web service (the base branch of the demo pull request)."""

from flask import Flask

app = Flask(__name__)


def check_ready(state):
    return state


if __name__ == "__main__":
    app.run()
