"""File integrity: baseline, incremental scans, classification by location, accept and audit."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from files_fixtures import (
    SKIMMER_HOOK,
    WEB_SHELL,
    build_whmcs_tree,
    files_settings,
    open_db,
    smarty_compiled,
    write,
)
from whmcs_monitor.config import Settings
from whmcs_monitor.errors import InputError
from whmcs_monitor.files import fim, tree
from whmcs_monitor.files.classify import signature_hit
from whmcs_monitor.files.globs import GlobSet
from whmcs_monitor.store import audit
from whmcs_monitor.store.db import Database
from whmcs_monitor.store.events import EventFilter, query_events


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return build_whmcs_tree(tmp_path / "whmcs")


@pytest.fixture
def fsettings(database_url: str, root: Path) -> Settings:
    return files_settings(database_url, root)


@pytest.fixture
def fdb(fsettings: Settings) -> Iterator[Database]:
    database = open_db(fsettings)
    fim.baseline(database, fsettings, actor="test")
    yield database
    database.dispose()


def by_path(report: fim.ScanReport) -> dict[str, list[fim.FileChange]]:
    out: dict[str, list[fim.FileChange]] = {}
    for change in report.changes:
        out.setdefault(change.path, []).append(change)
    return out


def test_a_rescan_of_an_unchanged_tree_hashes_nothing_and_reports_nothing(
    fdb: Database, fsettings: Settings
) -> None:
    report = fim.scan(fdb, fsettings)
    assert report.files > 15
    assert report.hashed == 0
    assert report.changes == []


def test_the_baseline_leaves_out_uploads_and_git(
    fdb: Database, fsettings: Settings, root: Path
) -> None:
    write(root / ".git/objects/ab/cdef", b"blob")
    report = fim.scan(fdb, fsettings)
    paths = {item for item in fim.plan(fdb, fsettings).current}
    assert "attachments/123456_invoice.pdf" not in paths
    assert {
        "configuration.php",
        "attachments/.htaccess",
        "vendor/autoload.php",
        "templates_c/0a1b2c3d4e5f_0.file.header.tpl.php",
    } <= paths
    assert report.changes == []


def test_a_php_file_dropped_in_attachments_is_a_suspected_web_shell(
    fdb: Database, fsettings: Settings, root: Path
) -> None:
    write(root / "attachments/cache.php", "<?php echo 1;\n")
    write(root / "attachments/654321_contract.pdf", b"%PDF upload\n")
    [change] = fim.scan(fdb, fsettings).changes
    assert (change.path, change.kind, change.severity) == (
        "attachments/cache.php",
        "file.web_shell_suspected",
        "critical",
    )
    assert change.rule == "php_in_writable_dir:attachments"


def test_web_shell_code_is_caught_by_signature_even_among_modules(
    fdb: Database, fsettings: Settings, root: Path
) -> None:
    write(root / "modules/addons/helper.php", WEB_SHELL)
    [change] = fim.scan(fdb, fsettings).changes
    assert change.kind == "file.web_shell_suspected"
    assert change.rule == "signature:eval_request"


def test_configuration_php_and_hook_changes_are_critical_config_changes(
    fdb: Database, fsettings: Settings, root: Path
) -> None:
    os.chmod(root / "configuration.php", 0o600)
    with open(root / "configuration.php", "a") as handle:
        handle.write("$display_errors = true;\n")
    write(root / "includes/hooks/checkout.php", SKIMMER_HOOK)
    changes = by_path(fim.scan(fdb, fsettings))
    config = {c.change: c for c in changes["configuration.php"]}
    assert config["modified"].kind == "file.config_changed"
    assert config["modified"].severity == "critical"
    assert config["permissions_changed"].kind == "file.permissions_changed"
    assert config["permissions_changed"].data["old_mode"] == "0400"
    assert config["permissions_changed"].data["new_mode"] == "0600"
    [hook] = changes["includes/hooks/checkout.php"]
    assert (hook.kind, hook.severity, hook.change) == ("file.config_changed", "critical", "added")


def test_template_and_module_changes_are_warnings_and_admin_changes_errors(
    fdb: Database, fsettings: Settings, root: Path
) -> None:
    write(root / "templates/six/header.tpl", "<html><script src=//evil.example/x.js>\n")
    write(root / "modules/gateways/paypal.php", "<?php function paypal_config() { return []; }\n")
    write(root / "admin/login.php", "<?php // admin login, patched\n")
    changes = {c.path: c for c in fim.scan(fdb, fsettings).changes}
    assert changes["templates/six/header.tpl"].severity == "warning"
    assert changes["modules/gateways/paypal.php"].kind == "file.modified"
    assert changes["modules/gateways/paypal.php"].severity == "warning"
    assert changes["admin/login.php"].severity == "error"


def test_delete_and_rename_are_reported_as_deleted_and_added(
    fdb: Database, fsettings: Settings, root: Path
) -> None:
    (root / "admin/index.php").unlink()
    (root / "templates/six/footer.tpl").rename(root / "templates/six/footer-old.tpl")
    changes = {(c.path, c.change) for c in fim.scan(fdb, fsettings).changes}
    assert changes == {
        ("admin/index.php", "deleted"),
        ("templates/six/footer.tpl", "deleted"),
        ("templates/six/footer-old.tpl", "added"),
    }


def test_content_changed_behind_a_reset_mtime_is_still_found(
    fdb: Database, fsettings: Settings, root: Path
) -> None:
    target = root / "includes/functions.php"
    before = target.stat()
    target.write_bytes(b"<?php function y() {}\n")  # same size as before
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    [change] = fim.scan(fdb, fsettings).changes
    assert (change.path, change.change) == ("includes/functions.php", "modified")


def test_a_touch_without_a_content_change_rehashes_but_reports_nothing(
    fdb: Database, fsettings: Settings, root: Path
) -> None:
    os.utime(root / "index.php", (1, 1))
    report = fim.scan(fdb, fsettings)
    assert report.hashed == 1
    assert report.changes == []


def test_each_change_becomes_one_stored_event_however_often_it_is_scanned(
    fdb: Database, fsettings: Settings, root: Path
) -> None:
    write(root / "downloads/x.php", WEB_SHELL)
    first = fim.scan(fdb, fsettings)
    second = fim.scan(fdb, fsettings)
    assert (first.new_events, second.changes) == (1, [])
    with fdb.read() as conn:
        [event] = query_events(conn, EventFilter(kinds=["file.web_shell_suspected"]))
    assert event["severity"] == "critical"
    assert event["labels"]["path"] == "downloads/x.php"
    assert "downloads/x.php" in event["summary"]


def test_accept_makes_changes_the_baseline_and_is_recorded_in_the_audit_trail(
    fdb: Database, fsettings: Settings, root: Path
) -> None:
    write(root / "templates/six/header.tpl", "<html>upgraded\n")
    write(root / "modules/new.php", "<?php // new module\n")
    fim.scan(fdb, fsettings)
    assert {p["path"] for p in fim.pending(fdb, fsettings)} == {
        "templates/six/header.tpl",
        "modules/new.php",
    }
    assert fim.accept(fdb, fsettings, ["templates"], actor="alice") == 1
    assert [p["path"] for p in fim.pending(fdb, fsettings)] == ["modules/new.php"]
    with fdb.read() as conn:
        assert audit.verify(conn).ok
        actions = [r.action for r in conn.exec_driver_sql("SELECT action FROM audit_log")]
    assert actions == ["fim.baseline", "fim.accept"]


def test_a_scan_of_a_path_outside_the_root_is_refused(
    fdb: Database, fsettings: Settings, tmp_path: Path
) -> None:
    with pytest.raises(InputError, match=r"outside files\.whmcs_root"):
        fim.scan(fdb, fsettings, [tmp_path / "elsewhere"])


def test_a_scan_limited_to_one_directory_does_not_report_the_rest_as_deleted(
    fdb: Database, fsettings: Settings, root: Path
) -> None:
    write(root / "admin/new.php", "<?php\n")
    write(root / "modules/other.php", "<?php\n")
    changes = fim.scan(fdb, fsettings, ["admin"]).changes
    assert [(c.path, c.change) for c in changes] == [("admin/new.php", "added")]


def test_on_a_tree_of_20k_files_every_kind_of_change_is_found_and_nothing_else(
    tmp_path: Path,
) -> None:
    # Backend-independent (the store tests above run on both); SQLite keeps this one fast.
    big = build_whmcs_tree(tmp_path / "big", extra_files=20_000)
    settings = files_settings(f"sqlite:///{tmp_path / 'monitor.db'}", big)
    database = open_db(settings)
    try:
        assert fim.baseline(database, settings, actor="test").files > 20_000
        write(big / "vendor/pkg3/src/New.php", "<?php\n")
        write(big / "vendor/pkg7/src/File3600.php", "<?php // patched\n")
        os.chmod(big / "vendor/pkg9/src/File4501.php", 0o666)
        (big / "vendor/pkg11/src/File5502.php").unlink()
        (big / "vendor/pkg13/src/File6503.php").rename(big / "vendor/pkg13/src/Moved.php")
        report = fim.scan(database, settings)
    finally:
        database.dispose()
    assert report.hashed == 4  # new, patched, chmod'ed (ctime moved) and the renamed file
    assert {(c.path, c.change) for c in report.changes} == {
        ("vendor/pkg3/src/New.php", "added"),
        ("vendor/pkg7/src/File3600.php", "modified"),
        ("vendor/pkg9/src/File4501.php", "permissions_changed"),
        ("vendor/pkg11/src/File5502.php", "deleted"),
        ("vendor/pkg13/src/File6503.php", "deleted"),
        ("vendor/pkg13/src/Moved.php", "added"),
    }


def test_a_full_scan_before_any_baseline_says_to_record_one(database_url: str, root: Path) -> None:
    settings = files_settings(database_url, root)
    database = open_db(settings)
    try:
        with pytest.raises(InputError, match="run `whmcs-monitor fim baseline` first"):
            fim.scan(database, settings)
    finally:
        database.dispose()


def test_a_file_name_that_is_not_utf8_is_reported_and_does_not_blind_the_scan(
    fdb: Database, fsettings: Settings, root: Path
) -> None:
    odd = os.fsdecode(b"modules/\xffcache.php")
    write(root / odd, "<?php echo 1;\n")
    write(root / "downloads/x.php", WEB_SHELL)
    changes = {c.path: c for c in fim.scan(fdb, fsettings).changes}
    assert set(changes) == {"modules/\\xffcache.php", "downloads/x.php"}
    assert changes["modules/\\xffcache.php"].kind == "file.web_shell_suspected"
    assert changes["modules/\\xffcache.php"].rule == "undecodable_name"
    assert fim.scan(fdb, fsettings, [root / odd]).changes == []
    assert fim.baseline(fdb, fsettings, actor="test").files == len(fim.plan(fdb, fsettings).current)
    (root / odd).unlink()
    [gone] = fim.scan(fdb, fsettings).changes
    assert (gone.path, gone.change) == ("modules/\\xffcache.php", "deleted")


def test_stored_path_forms_are_one_to_one_with_file_names(
    fdb: Database, fsettings: Settings, root: Path
) -> None:
    names = [
        b"admin/\xff.php",
        b"admin/\\xff.php",
        b"admin/a\\b.php",
        "admin/caf\u00e9.php".encode(),
    ]
    for name in names:
        write(root / os.fsdecode(name), b"<?php // " + name + b"\n")
    changes = {c.path: c for c in fim.scan(fdb, fsettings).changes}
    assert set(changes) == {
        "admin/\\xff.php",
        "admin/\\\\xff.php",
        "admin/a\\\\b.php",
        "admin/caf\u00e9.php",
    }
    assert [tree.fs_relpath(tree.path_key(os.fsdecode(n))) for n in names] == [
        os.fsdecode(n) for n in names
    ]
    assert all(c.data["new_sha256"] for c in changes.values())  # each read from its own file


def test_a_skimmer_whose_name_holds_a_newline_is_still_in_scope(
    fdb: Database, fsettings: Settings, root: Path
) -> None:
    write(root / "includes/hooks/skim\nmer.php", b'<?php eval(base64_decode("ZWNobyAxOw=="));\n')
    [change] = fim.scan(fdb, fsettings).changes
    assert change.path == "includes/hooks/skim\nmer.php"
    assert (change.kind, change.rule) == ("file.web_shell_suspected", "signature:eval_decoded")
    assert not GlobSet(["*.php"]).match("index.php\n")


def test_a_symlinked_hook_is_reported_and_its_target_checked_for_web_shell_code(
    fdb: Database, fsettings: Settings, root: Path, tmp_path: Path
) -> None:
    outside = write(tmp_path / "outside.php", b"<?php eval($_POST['x']);\n")
    (root / "includes/hooks/zz.php").symlink_to(outside)
    [change] = fim.scan(fdb, fsettings, [root / "includes/hooks/zz.php"]).changes
    assert (change.kind, change.rule) == ("file.web_shell_suspected", "signature:eval_request")
    assert change.data["link_target"] == str(outside)
    assert fim.scan(fdb, fsettings).changes == []
    (root / "includes/hooks/zz.php").unlink()
    (root / "includes/hooks/zz.php").symlink_to(root / "index.php")
    [retargeted] = fim.scan(fdb, fsettings).changes
    assert (retargeted.change, retargeted.kind) == ("modified", "file.config_changed")
    assert retargeted.data["link_target"] == str(root / "index.php")


def test_symlinks_are_recorded_but_never_followed(
    fdb: Database, fsettings: Settings, root: Path, tmp_path: Path
) -> None:
    (root / "modules/a.php").symlink_to("b.php")
    (root / "modules/b.php").symlink_to("a.php")  # a loop
    os.mkfifo(tmp_path / "fifo")
    (root / "modules/pipe.php").symlink_to(tmp_path / "fifo")  # reading it would block
    write(tmp_path / "elsewhere/deep.php", "<?php\n")
    (root / "modules/elsewhere").symlink_to(tmp_path / "elsewhere")
    changes = {c.path: c for c in fim.scan(fdb, fsettings).changes}
    assert set(changes) == {
        "modules/a.php",
        "modules/b.php",
        "modules/pipe.php",
        "modules/elsewhere",
    }
    assert {(c.change, c.kind) for c in changes.values()} == {("added", "file.added")}
    assert changes["modules/elsewhere"].data["link_target"] == str(tmp_path / "elsewhere")


def test_php_in_every_writable_directory_is_in_scope_even_beyond_the_include_globs(
    database_url: str, root: Path
) -> None:
    settings = files_settings(
        database_url,
        root,
        fim={"writable_dirs": ["attachments", "downloads", "templates_c", "uploads", "media"]},
    )
    database = open_db(settings)
    try:
        fim.baseline(database, settings, actor="test")
        write(root / "uploads/2026/avatar.php", "<?php echo 1;\n")
        write(root / "media/cache/.htaccess", "AddHandler php-script .jpg\n")
        write(root / "media/photo.jpg", b"\xff\xd8 not code")
        changes = {c.path: c.rule for c in fim.scan(database, settings).changes}
    finally:
        database.dispose()
    assert changes == {
        "uploads/2026/avatar.php": "php_in_writable_dir:uploads",
        "media/cache/.htaccess": "php_in_writable_dir:media",
    }


def test_smarty_recompiling_is_quiet_but_a_shell_named_like_a_compiled_template_is_not(
    fdb: Database, fsettings: Settings, root: Path
) -> None:
    compiled = root / "templates_c/0a1b2c3d4e5f_0.file.header.tpl.php"
    write(compiled, smarty_compiled("header", body="<b>new</b>"))
    write(root / "templates_c/9f8e7d_0.file.footer.tpl.php", smarty_compiled("footer"))
    write(root / "templates_c/f54bc2_0.string.php", smarty_compiled("email"))
    old_smarty = "<?php /* Smarty version Smarty-3.1.21-dev, created on 2015-01-02 03:04:05 */ ?>"
    write(root / "templates_c/5d4c3b_0.file.old.tpl.php", old_smarty + "\n<html>\n")
    write(root / "templates_c/0a1b2c_0.file.shell.tpl.php", b"<?php eval($_POST['c']);\n")
    write(root / "templates_c/0a1b2d_0.file.plain.tpl.php", "<?php echo 'no Smarty header';\n")
    disguised = smarty_compiled("x") + "<?php @eval(base64_decode($_REQUEST['x'])); ?>\n"
    write(root / "templates_c/0a1b2e_0.string.x.php", disguised)
    changes = {c.path: c.rule for c in fim.scan(fdb, fsettings).changes}
    assert changes == {
        "templates_c/0a1b2c_0.file.shell.tpl.php": "signature:eval_request",
        "templates_c/0a1b2d_0.file.plain.tpl.php": "php_in_writable_dir:templates_c",
        "templates_c/0a1b2e_0.string.x.php": "signature:eval_decoded",
    }
    assert {p["path"] for p in fim.pending(fdb, fsettings)} == set(changes)
    compiled.unlink()  # Smarty's cache cleared
    assert fim.scan(fdb, fsettings).changes == []


WEB_SHELLS = {
    "eval_request": [
        b'<?php assert($_POST["x"]);',
        b"<?php assert(stripslashes($_REQUEST['x']));",
        b'<?php echo shell_exec($_REQUEST["cmd"]);',
        b'<?php eval(${"_POST"}["c"]);',
        b'<?php eval($_GET{"c"});',
    ],
    "eval_decoded": [
        b"<?php @eval(gzinflate(base64_decode($x)));",
        b'<?php @assert(base64_decode($_REQUEST["x"]));',
        b'<?php eval/**/(base64_decode("ZWNobyAxOw=="));',
        b'<?php EVAL(\n STR_ROT13(gzinflate(base64_decode("x"))));',
    ],
    "eval_request_variable": [b'<?php $c = $_POST["c"]; eval($c);'],
    "request_function": [b'<?php $_POST["f"]($_POST["c"]);', b'<?php @$_GET["a"](@$_GET["b"]);'],
    "create_function_request": [b'<?php $f = create_function("", $_POST["c"]); $f();'],
    "callback_eval": [
        b'<?php array_map("assert", array($_POST["x"]));',
        b'<?php call_user_func($_POST["f"], $_POST["a"]);',
        b"<?php array_filter(array($_COOKIE['x']), 'assert');",
    ],
    "preg_replace_e": [
        b'<?php preg_replace("/.*/e", $_POST["c"], "");',
        b"<?php preg_replace('#.*#e', $_REQUEST['c'], '');",
    ],
    "backtick_request": [b"<?php echo `$_GET[c]`;"],
}

# Shapes from WHMCS, its vendor libraries (Twig, TCPDF, Illuminate) and Smarty's compiled
# templates that a careless signature takes for a web shell.
ORDINARY_CODE = [
    b"<?php $loader = new Twig_Loader_Filesystem($_SERVER['DOCUMENT_ROOT'] . '/templates');",
    b"<?php $os = Helper::getOperatingSystem($_SERVER['HTTP_USER_AGENT']);",
    b"<?php $pdo->exec($_SERVER['X']); $this->db->system($_POST['q']);",
    b"<?php $r = curl_exec($_SERVER['HTTP_HOST']); $eco = ecosystem($_GET['x']);",
    b"<?php $t = $this->typeSystem($_GET['id']); $stmt->execute($_POST['ids']);",
    b"<?php $this->assertSame($_POST, []); $x = \\Foo::assert($_GET['y']);",
    b"<?php $s = preg_replace('/\\/ColorSpace \\/[^\\s]+/si', '/ColorSpace /DeviceGray', $out);",
    b"<?php $slug = preg_replace('/\\s+/', '-', $title) . '/page' . preg_replace('/x/i', 'e', $y);",
    b"<?php $id = (int) $_GET['id']; $capsule->connection()->exec($id);",
    b"<?php $emails = array_map('trim', $_POST['emails']); usort($rows, [$this, 'system']);",
    b"<?php call_user_func([$this, 'exec'], $args); call_user_func_array($cb, $_POST['a']);",
    b"<?php register_shutdown_function('cleanup', $_SERVER['REQUEST_URI']);",
    b"<?php add_hook('ClientAreaPage', 1, function ($vars) { return ['q' => $_GET['q']]; });",
    b"<?php $sql = \"SELECT `id` FROM `tblclients` WHERE email = '\" . $_POST['email'] . \"'\";",
    smarty_compiled(
        "page", body="<?php echo $_GET['page'];?><?php echo $_SERVER['HTTP_HOST'];?>"
    ).encode(),
]


@pytest.mark.parametrize(
    ("name", "code"), [(name, code) for name, codes in WEB_SHELLS.items() for code in codes]
)
def test_each_web_shell_shape_is_caught(tmp_path: Path, name: str, code: bytes) -> None:
    assert signature_hit(write(tmp_path / "x.php", code)) == name


@pytest.mark.parametrize("code", ORDINARY_CODE)
def test_ordinary_whmcs_vendor_and_smarty_code_matches_no_signature(
    tmp_path: Path, code: bytes
) -> None:
    assert signature_hit(write(tmp_path / "x.php", code)) is None
