<?php
/**
 * whmcs-monitor: registers one handler for every hook in hooks.json (the event catalog's export).
 *
 * WHMCS includes this file on every request while the addon is active. Nothing here may break
 * WHMCS: a missing file, a bad hooks.json or any other error is swallowed (and logged once,
 * without data), and no handler ever returns a value.
 */

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

try {
    require_once __DIR__ . '/lib/bootstrap.php';
    \WhmcsMonitor\Module::boot(__DIR__);
} catch (\Throwable $whmcsMonitorError) {
    error_log('whmcs_monitor: hooks not registered (' . get_class($whmcsMonitorError) . ': '
        . substr($whmcsMonitorError->getMessage(), 0, 200) . ')');
    unset($whmcsMonitorError);
}
