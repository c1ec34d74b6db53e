"""A small web service with the security mistakes mendbot is built to repair."""

import hashlib
import os
import subprocess
import tarfile
import xml.etree.ElementTree as ET

import requests
import yaml
from flask import Flask

app = Flask(__name__)


def load_settings(path):
    with open(path) as handle:
        return yaml.load(handle)


def fetch_profile(user_id):
    response = requests.get(
        f"https://api.example.com/users/{user_id}",
        verify=False,
    )
    return response.json()


def unpack(archive_path, target):
    with tarfile.open(archive_path) as archive:
        archive.extractall(target)


def parse_feed(text):
    return ET.fromstring(text)


def list_reports():
    return subprocess.check_output("ls -l /srv/reports", shell=True)


def publish_report(path):
    os.chmod(path, 0o777)


def etag_for(body):
    return hashlib.md5(body).hexdigest()


def check_ready(state):
    assert state.ready, "service not ready"
    return state


if __name__ == "__main__":
    app.run(debug=True)
