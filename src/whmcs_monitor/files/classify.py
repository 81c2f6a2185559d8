"""How bad is a file change? Location first, then content: each rule explains itself.

The order of :data:`LOCATION_RULES` is the order of precedence. A change gets the catalog kind and
severity of the first rule whose glob matches, and ``rule``/``reason`` that say why, so an
operator reading the alert knows what made it critical.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from whmcs_monitor.files.globs import GlobSet
from whmcs_monitor.files.tree import open_regular, undecodable

Change = Literal["added", "modified", "deleted", "permissions_changed"]
PHP_LIKE = GlobSet(["**/*.php", "**/*.php[0-9]", "**/*.phtml", "**/*.phar", "**/*.pht", "**/*.inc"])
CONTENT_SCAN_BYTES = 2 * 1024 * 1024
# Smarty's compiled templates, rewritten whenever a template changes or the cache is cleared:
# HASH_0.file.NAME.tpl.php, and HASH_0.string.php for string templates (WHMCS's email templates).
SMARTY_COMPILED = GlobSet(
    ["templates_c/**/*.file.*.php", "templates_c/**/*.string.php", "templates_c/**/*.string.*.php"]
)
# How Smarty 3 and later begin a compiled template ("Smarty-3.1.21-dev" in old 3.1 releases).
_SMARTY_HEADER = re.compile(rb"\A<\?php\s*/\* Smarty version (?:Smarty-)?\d+\.\d+")


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: str
    severity: str
    rule: str
    reason: str
    report: bool = True  # False: an expected change, accepted by the scan without an event


SMARTY_REWRITE = Verdict(
    "",
    "info",
    "smarty_compiled",
    "Smarty rewrote a compiled template: Smarty's own header and no web-shell signature",
    report=False,
)


@dataclass(frozen=True, slots=True)
class LocationRule:
    name: str
    globs: GlobSet
    kind_for_content: str | None  # None keeps file.added/modified/deleted
    severity: str
    reason: str


LOCATION_RULES = (
    LocationRule(
        "configuration",
        GlobSet(["configuration.php"]),
        "file.config_changed",
        "critical",
        "configuration.php holds the database password and cc_encryption_hash",
    ),
    LocationRule(
        "hooks",
        GlobSet(["includes/hooks/**"]),
        "file.config_changed",
        "critical",
        "hook files run on every WHMCS page: the classic place for a card skimmer",
    ),
    LocationRule(
        "admin",
        GlobSet(["admin/**", "*.php", "includes/**", ".htaccess"]),
        None,
        "error",
        "core WHMCS code changes only with an upgrade",
    ),
    LocationRule(
        "extensions",
        GlobSet(["templates/**", "modules/**", "lang/**"]),
        None,
        "warning",
        "templates and modules change when themes or modules are installed or updated",
    ),
)

# The pieces of the web-shell signatures below, by the name that stands for them there.
_PIECES = {
    # A global function: not a method (->x), a static call (::x), a variable ($x) or part of a
    # longer name (curl_exec, Filesystem, getOperatingSystem).
    "B": r"(?<![\w>:$])",
    "GAP": r"(?:\s|/\*.*?\*/)*",  # what PHP allows between a name and its "(": space, comments
    "REQ": r"@?(?:\$_(?:GET|POST|REQUEST|COOKIE|SERVER|FILES)\b"
    r"|\$\{\s*['\"]_(?:GET|POST|REQUEST|COOKIE|SERVER)['\"]\s*\})",
    "RUN": r"(?:eval|assert|system|passthru|shell_exec|exec|popen|proc_open|pcntl_exec)",
    "DECODE": r"(?:base64_decode|gzinflate|gzuncompress|gzdecode|str_rot13|hex2bin)",
    # Functions that call the callback given as their first argument, or as their second.
    "CALLS_FIRST": r"(?:array_map|call_user_func(?:_array)?|register_(?:shutdown|tick)_function)",
    "CALLS_SECOND": r"(?:array_filter|array_walk(?:_recursive)?|array_reduce|u[ak]?sort)",
    "ARG": r"(?:[^,;()]|\([^()]*\))*,",  # one argument (one level of parentheses at most)
}


def _signature(template: str, flags: int = re.I | re.S) -> re.Pattern[bytes]:
    """Compile ``template``, where ``%(NAME)s`` stands for a piece of :data:`_PIECES`."""
    return re.compile((template % _PIECES).encode(), flags)


# Patterns seen in PHP web shells and skimmers: code run from request data or encoded blobs.
# Each must stay silent on ordinary WHMCS, Smarty and vendor code (see the tests).
SIGNATURES = {
    "eval_request": _signature(
        r"%(B)s%(RUN)s%(GAP)s\(%(GAP)s(?:%(REQ)s|stripslashes%(GAP)s\(%(GAP)s%(REQ)s)"
    ),
    "eval_decoded": _signature(r"%(B)s(?:eval|assert)%(GAP)s\(%(GAP)s@?%(DECODE)s%(GAP)s\("),
    # $c = $_POST["c"]; ... eval($c);
    "eval_request_variable": _signature(
        r"\$(\w+)\s*=[^;=]*?%(REQ)s[^;]*;.{0,2000}?%(B)s%(RUN)s%(GAP)s\(%(GAP)s\$\1\b"
    ),
    # $_POST["f"]($_POST["c"]): a function named by the request.
    "request_function": _signature(r"%(REQ)s\s*(?:\[[^\]]*\]|\{[^}]*\})%(GAP)s\("),
    "create_function_request": _signature(r"%(B)screate_function%(GAP)s\([^;]*?%(REQ)s"),
    # array_map("assert", ...), call_user_func($_POST["f"], ...)
    "callback_eval": _signature(
        r"%(B)s(?:%(CALLS_FIRST)s%(GAP)s\(|%(CALLS_SECOND)s%(GAP)s\(%(ARG)s)%(GAP)s"
        r"(?:['\"]\\?(?:%(RUN)s|create_function)['\"]|%(REQ)s)"
    ),
    # preg_replace('/.*/e', ...): the /e modifier evaluates the replacement as PHP. The pattern
    # is one string literal: its quote ends it.
    "preg_replace_e": _signature(
        r"%(B)spreg_replace%(GAP)s\(%(GAP)s(['\"])([^\w\s\\])(?:(?!\1).)*?\2[a-z]*e[a-z]*\1", re.I
    ),
    "backtick_request": _signature(r"`\s*\$_(?:GET|POST|REQUEST|COOKIE)"),
}


def signature_hit(path: Path) -> str | None:
    """The name of the first web-shell signature in the file's head, if any.

    A symbolic link is read through (PHP would run its target) when it ends at a regular file.
    """
    try:
        with open_regular(path, follow=True) as handle:
            head = handle.read(CONTENT_SCAN_BYTES)
    except OSError:
        return None
    return next((name for name, regex in SIGNATURES.items() if regex.search(head)), None)


def smarty_output(path: Path) -> bool:
    """Does the file begin the way Smarty begins every compiled template?"""
    try:
        with open_regular(path) as handle:
            return bool(_SMARTY_HEADER.match(handle.read(128)))
    except OSError:
        return False


def in_writable_dir(relpath: str, writable_dirs: list[str]) -> str | None:
    for directory in writable_dirs:
        prefix = directory.strip("/") + "/"
        if relpath.startswith(prefix):
            return directory.strip("/")
    return None


def classify(
    change: Change,
    relpath: str,
    *,
    writable_dirs: list[str],
    signature: str | None = None,
    smarty_output: bool = False,
) -> Verdict:
    """The kind, severity and explanation for one change to one file.

    ``signature`` is the web-shell signature found in its content; ``smarty_output`` says its
    content is what Smarty writes into a compiled template.
    """
    default_kind = f"file.{change}"
    arrived = change in ("added", "modified")
    if arrived and signature:
        return Verdict(
            "file.web_shell_suspected",
            "critical",
            f"signature:{signature}",
            f"the file contains code typical of web shells ({signature})",
        )
    if arrived and undecodable(relpath):
        return Verdict(
            "file.web_shell_suspected",
            "critical",
            "undecodable_name",
            "the file name is not valid UTF-8, a way to hide a file from tools and from people",
        )
    if SMARTY_COMPILED.match(relpath) and (smarty_output or change == "deleted"):
        return SMARTY_REWRITE
    php = PHP_LIKE.match(relpath) or relpath.endswith(".htaccess")
    writable = in_writable_dir(relpath, writable_dirs)
    if arrived and php and writable:
        return Verdict(
            "file.web_shell_suspected",
            "critical",
            f"php_in_writable_dir:{writable}",
            f"{writable}/ is writable by the web server and should never hold runnable code",
        )
    for rule in LOCATION_RULES:
        if rule.globs.match(relpath):
            kind = default_kind
            if rule.kind_for_content and change != "permissions_changed":
                kind = rule.kind_for_content
            return Verdict(kind, rule.severity, rule.name, rule.reason)
    return Verdict(default_kind, "warning", "tree", "a file in the watched WHMCS tree changed")
