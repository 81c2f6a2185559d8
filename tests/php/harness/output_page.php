<?php
/**
 * Renders the addon's admin status page as WHMCS would, optionally after pressing
 * "Send test event":
 *
 *   php output_page.php MODULE_DIR [test]
 */

require __DIR__ . '/whmcs.php';
define('ADMINAREA', true);

require $argv[1] . '/hooks.php';
require $argv[1] . '/whmcs_monitor.php';

if (isset($argv[2]) && $argv[2] === 'test') {
    $_POST['whmcs_monitor_action'] = 'test';
}
whmcs_monitor_output(array('modulelink' => 'addonmodules.php?module=whmcs_monitor'));
echo "\n";
