"""GitHub's size limits on what mendbot posts, and text fitted to them by construction.

GitHub rejects a whole review with 422 when one of its comments is over the limit, and a
check run whose summary is: before these limits were enforced here, one pull request with a
70,000-character line (`yaml.load('…')`, whose suggestion repeats it) got no review, no
summary and no check run at all. So every body is measured before it is sent, and what does
not fit is cut at a line break with a note saying where the rest is, keeping the tail
(mendbot's hidden fingerprint markers) intact.

Lengths are counted in UTF-16 code units, which is never less than the number of code
points: a body that fits by this count fits whichever way GitHub counts characters.
"""

from __future__ import annotations

COMMENT_MAX = 65_536
"""Review comments, review bodies and issue comments ("body is too long (maximum is 65536 characters)")."""
CHECK_TEXT_MAX = 65_535
"""A check run's `output.summary` and `output.text` ("Only 65535 characters are allowed")."""
ANNOTATION_MAX_BYTES = 64 * 1024
"""An annotation's `message` and `raw_details` (64 KB each)."""
ANNOTATION_TITLE_MAX = 255
"""An annotation's `title`."""


def length(text: str) -> int:
    """`text`'s length as GitHub may count it at most (UTF-16 code units)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def fits(text: str, limit: int = COMMENT_MAX) -> bool:
    return length(text) <= limit


def fit(text: str, limit: int, *, tail: str = "", note: str = "") -> str:
    """`text` followed by `tail`, within `limit`: when too long, `text` is cut at its last line
    break that leaves room for `note` and `tail`, and `note` says what was left out."""
    if fits(text + tail, limit):
        return text + tail
    marker = f"\n\n… {note or 'cut to fit GitHub’s size limit'}\n"
    room = limit - length(marker) - length(tail)
    if room <= 0:
        return _cut(marker + tail, limit)
    head = _cut(text, room)
    if "\n" in head:
        head = head[: head.rindex("\n")]
    return head + marker + tail


def fit_bytes(text: str, limit: int = ANNOTATION_MAX_BYTES, note: str = "cut to fit GitHub’s 64 KB limit") -> str:
    """`text` within `limit` UTF-8 bytes, cut at a line break with `note` when it is longer."""
    if len(text.encode("utf-8")) <= limit:
        return text
    marker = f"\n… {note}\n"
    room = limit - len(marker.encode("utf-8"))
    head = text.encode("utf-8")[: max(0, room)].decode("utf-8", "ignore")
    if "\n" in head:
        head = head[: head.rindex("\n")]
    return head + marker


def _cut(text: str, limit: int) -> str:
    """The longest prefix of `text` within `limit` UTF-16 units (never half a surrogate pair)."""
    if fits(text, limit):
        return text
    encoded = text.encode("utf-16-le", "surrogatepass")[: max(0, limit) * 2]
    return encoded.decode("utf-16-le", "ignore")
