<?php
/**
 * Loads the module's classes. No Composer and no autoloader: a fixed list, required once, so
 * the module works the same on every host and costs nothing to resolve.
 */

foreach (array(
    'Config', 'HookCatalog', 'Normalizer', 'Redactor', 'EventId', 'State', 'Breaker', 'Batch',
    'SendResult', 'Sender', 'Spool', 'Forwarder', 'Module',
) as $whmcsMonitorClass) {
    if (!class_exists('WhmcsMonitor\\' . $whmcsMonitorClass, false)) {
        require_once __DIR__ . '/' . $whmcsMonitorClass . '.php';
    }
}
unset($whmcsMonitorClass);
