"""Pull request reads: files with pagination and patch rules, contents at a ref, commits."""

from __future__ import annotations

import base64

import github
import pytest
import requests
from ghsim import SimulatorServer
from ghsim.routing import parse_link_header
from ghsim.testing import InstalledApp, install_app

REPO = "octo-org/demo"


def test_pull_request_shape(installed: InstalledApp) -> None:
    pr = installed.client().get_repo(REPO).get_pull(1)
    state = installed.sim.pull(REPO, 1)
    assert (pr.number, pr.state, pr.draft, pr.title) == (1, "open", False, "Add tool")
    assert pr.head.sha == state.head_sha and pr.base.sha == state.base_sha
    assert pr.base.ref == "main" and pr.head.ref == "pr-1"
    assert pr.head.repo.full_name == REPO
    assert pr.changed_files == 2 and pr.additions == 4 and pr.deletions == 2
    assert pr.url.startswith(installed.server.base_url)
    assert pr.html_url.startswith(installed.server.base_url)


def test_files_have_github_patches(installed: InstalledApp) -> None:
    files = {f.filename: f for f in installed.client().get_repo(REPO).get_pull(1).get_files()}
    assert set(files) == {"app.py", "tool.py"}
    assert files["tool.py"].status == "added"
    assert files["tool.py"].patch == "@@ -0,0 +1,2 @@\n+import subprocess\n+subprocess.call('ls', shell=True)"
    app = files["app.py"]
    assert (app.status, app.additions, app.deletions, app.changes) == ("modified", 2, 2, 4)
    assert app.patch.startswith("@@ -3,7 +3,7 @@ line2 = 2\n line3 = 3\n")
    assert "\n@@ -30,7 +30,7 @@ line29 = 29\n" in app.patch
    assert "-line33 = 33\n+line33 = 330" in app.patch


def test_files_pagination_over_100_files(ghsim_server: SimulatorServer, app_private_key: bytes) -> None:
    sim = ghsim_server.sim
    head = {f"pkg/mod_{i:03}.py": f"VALUE = {i}\n" for i in range(250)}
    sim.create_pull_request(REPO, {}, head)
    installed = install_app(ghsim_server, [REPO], private_key_pem=app_private_key)
    pr = installed.client(per_page=100).get_repo(REPO).get_pull(1)
    names = [f.filename for f in pr.get_files()]
    assert names == sorted(head)
    pages = installed.sim.requests_matching("GET", "/pulls/1/files")
    assert len(pages) == 3
    assert pr.get_files().totalCount == 250


def test_files_link_header_and_default_page_size(installed: InstalledApp) -> None:
    sim = installed.sim
    sim.create_pull_request(REPO, {}, {f"f{i:02}.txt": "x\n" for i in range(65)}, number=7)
    url = f"{installed.server.base_url}/repos/{REPO}/pulls/7/files"
    auth = {"Authorization": f"token {installed.token}"}
    first = requests.get(url, headers=auth, timeout=5)
    assert len(first.json()) == 30
    links = parse_link_header(first.headers["link"])
    assert set(links) == {"next", "last"}
    assert links["next"] == f"{url}?per_page=30&page=2"
    assert links["last"].endswith("page=3")
    middle = requests.get(links["next"], headers=auth, timeout=5)
    assert set(parse_link_header(middle.headers["link"])) == {"prev", "next", "last", "first"}
    capped = requests.get(url, headers=auth, params={"per_page": 500}, timeout=5)
    assert len(capped.json()) == 65 and "link" not in capped.headers


def test_files_listing_is_capped(installed: InstalledApp) -> None:
    sim = installed.sim
    assert sim.max_listed_files == 3000
    sim.max_listed_files = 40
    sim.create_pull_request(REPO, {}, {f"f{i:02}.txt": "x\n" for i in range(50)}, number=8)
    pr = installed.client().get_repo(REPO).get_pull(8)
    assert pr.changed_files == 50
    assert len(list(pr.get_files())) == 40


def test_patch_left_out_for_binary_and_huge_files(installed: InstalledApp) -> None:
    sim = installed.sim
    sim.max_patch_changes = 100
    base: dict[str, str | bytes] = {
        "big.py": "".join(f"a{i} = 1\n" for i in range(200)),
        "logo.png": b"\x89PNG\r\n\x1a\n\x00\x00",
    }
    head: dict[str, str | bytes] = {
        "big.py": "".join(f"a{i} = 2\n" for i in range(200)),
        "logo.png": b"\x89PNG\r\n\x1a\n\x00\x01",
    }
    sim.create_pull_request(REPO, base, head, number=9)
    files = {f.filename: f for f in installed.client().get_repo(REPO).get_pull(9).get_files()}
    assert files["big.py"].patch is None and files["big.py"].additions == 200
    assert files["logo.png"].patch is None and files["logo.png"].changes == 0
    raw = requests.get(
        f"{installed.server.base_url}/repos/{REPO}/pulls/9/files",
        headers={"Authorization": f"token {installed.token}"},
        timeout=5,
    ).json()
    assert all("patch" not in item for item in raw)


def test_renamed_file_has_previous_filename(installed: InstalledApp) -> None:
    body = "".join(f"v{i} = {i}\n" for i in range(10))
    installed.sim.create_pull_request(
        REPO,
        {"old/name.py": body},
        {"new/name.py": body.replace("v5 = 5", "v5 = 6")},
        number=10,
        renames={"old/name.py": "new/name.py"},
    )
    (entry,) = installed.client().get_repo(REPO).get_pull(10).get_files()
    assert (entry.filename, entry.status, entry.previous_filename) == ("new/name.py", "renamed", "old/name.py")
    assert entry.additions == 1 and entry.deletions == 1


def test_contents_at_ref(installed: InstalledApp) -> None:
    repo = installed.client().get_repo(REPO)
    state = installed.sim.pull(REPO, 1)
    at_head = repo.get_contents("app.py", ref=state.head_sha)
    at_base = repo.get_contents("app.py", ref=state.base_sha)
    assert not isinstance(at_head, list) and not isinstance(at_base, list)
    assert b"line6 = 60\n" in at_head.decoded_content
    assert b"line6 = 6\n" in at_base.decoded_content
    assert at_head.encoding == "base64" and at_head.size == len(at_head.decoded_content)
    by_branch = repo.get_contents("tool.py", ref="pr-1")
    assert not isinstance(by_branch, list) and by_branch.decoded_content.startswith(b"import subprocess")
    with pytest.raises(github.UnknownObjectException):
        repo.get_contents("tool.py", ref=state.base_sha)
    listing = repo.get_contents("", ref=state.head_sha)
    assert isinstance(listing, list)
    assert sorted(c.path for c in listing) == ["README.md", "app.py", "tool.py"]


def test_contents_json_is_github_base64(installed: InstalledApp) -> None:
    installed.sim.commit(REPO, "main", {"long.txt": "x" * 200})
    item = requests.get(
        f"{installed.server.base_url}/repos/{REPO}/contents/long.txt",
        headers={"Authorization": f"token {installed.token}"},
        timeout=5,
    ).json()
    lines = item["content"].split("\n")
    assert max(len(line) for line in lines) == 60
    assert base64.b64decode(item["content"]) == b"x" * 200


def test_commit_endpoint_and_push(installed: InstalledApp) -> None:
    sim = installed.sim
    old_head = sim.pull(REPO, 1).head_sha
    new = sim.push(REPO, 1, {"app.py": "only = 1\n", "README.md": "# demo\n"})
    assert new.head_sha != old_head
    repo = installed.client().get_repo(REPO)
    pr = repo.get_pull(1)
    assert pr.head.sha == new.head_sha and pr.commits == 2
    assert [f.filename for f in pr.get_files()] == ["app.py"]
    commit = repo.get_commit(new.head_sha)
    assert commit.sha == new.head_sha and commit.parents[0].sha == old_head
    assert [c.sha for c in pr.get_commits()] == [old_head, new.head_sha]


def test_diff_media_type_too_large(installed: InstalledApp) -> None:
    sim = installed.sim
    sim.create_pull_request(REPO, {}, {f"f{i:03}.txt": "x\n" for i in range(301)}, number=11)
    headers = {"Authorization": f"token {installed.token}", "Accept": "application/vnd.github.diff"}
    too_large = requests.get(f"{installed.server.base_url}/repos/{REPO}/pulls/11", headers=headers, timeout=5)
    assert too_large.status_code == 406
    assert too_large.json()["errors"][0]["code"] == "too_large"
    small = requests.get(f"{installed.server.base_url}/repos/{REPO}/pulls/1", headers=headers, timeout=5)
    assert small.status_code == 200 and small.text.startswith("diff --git a/app.py b/app.py\n")


def test_unknown_route_is_json_404(installed: InstalledApp) -> None:
    response = requests.get(
        f"{installed.server.base_url}/repos/{REPO}/nope",
        headers={"Authorization": f"token {installed.token}"},
        timeout=5,
    )
    assert response.status_code == 404
    assert response.json()["message"] == "Not Found" and "documentation_url" in response.json()
    with pytest.raises(github.UnknownObjectException):
        installed.client().get_repo(REPO).get_pull(99)
