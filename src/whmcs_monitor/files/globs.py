"""Path globs with ``**``, compiled once into one regular expression.

``**`` matches any number of directories (including none), ``*`` and ``?`` stay inside one path
segment, ``[...]`` is a character class; patterns are matched against a path relative to the
WHMCS root, with ``/`` separators. Python 3.11's ``fnmatch`` lets ``*`` cross ``/``, which would
make ``*.php`` (the PHP files in the web root) match every PHP file in the tree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable


def _segment(pattern: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def glob_to_regex(pattern: str) -> str:
    """The regular expression (without anchors) for one glob."""
    parts = pattern.strip("/").split("/")
    out = ""
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "**":
            out += ".*" if last else "(?:[^/]+/)*"
        else:
            out += _segment(part) + ("" if last else "/")
    return out


class GlobSet:
    """Does a relative path match any of these globs? ``GlobSet(["modules/**"]).match(p)``."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = tuple(patterns)
        joined = "|".join(f"(?:{glob_to_regex(p)})" for p in self.patterns)
        # DOTALL and \Z: a file name may hold a newline, and a skimmer named "x\nmer.php" must
        # match "includes/**" like any other (``.`` and ``$`` stop at a newline by default).
        self._regex = re.compile(f"(?:{joined})\\Z", re.DOTALL) if self.patterns else None

    def match(self, path: str) -> bool:
        return bool(self._regex and self._regex.match(path))

    def could_contain(self, directory: str) -> bool:
        """Might a file under ``directory`` match? Lets a walk skip whole subtrees."""
        for pattern in self.patterns:
            parts = pattern.strip("/").split("/")
            dirs = directory.split("/") if directory else []
            if _prefix_could_match(parts, dirs):
                return True
        return False


def _prefix_could_match(parts: list[str], dirs: list[str]) -> bool:
    for index, name in enumerate(dirs):
        if index < len(parts) and parts[index] == "**":
            return True
        if index >= len(parts) - 1:
            return False  # the pattern's last part names files, and we are deeper than that
        part = parts[index]
        if not re.fullmatch(_segment(part), name):
            return False
    return True
