<?php
/**
 * Runs one scenario through the emulated WHMCS with the real module:
 *
 *   php run.php SCENARIO.json
 *
 * The scenario is {"module_dir": path, "calls": [{"hook": name, "vars": {...}}, ...]}. The
 * module's hooks.php is loaded as WHMCS would, every call goes through run_hook, and a JSON
 * report goes to stdout: what each run_hook returned, what was registered, and whether anything
 * escaped. The module's shutdown flush runs after this script ends, as in WHMCS.
 */

require __DIR__ . '/whmcs.php';

$scenario = json_decode((string) file_get_contents($argv[1]), true);
$moduleDir = $scenario['module_dir'];

require $moduleDir . '/hooks.php';

$report = array('registered' => harness_registered_hooks(), 'calls' => array(), 'escaped' => array());
foreach ($scenario['calls'] as $call) {
    try {
        $returned = run_hook($call['hook'], harness_materialize($call['vars']));
        $report['calls'][] = array('hook' => $call['hook'], 'returned' => $returned);
    } catch (\Throwable $e) {
        $report['escaped'][] = array('hook' => $call['hook'], 'error' => get_class($e) . ': ' . $e->getMessage());
    }
}
$forwarder = \WhmcsMonitor\Forwarder::instance();
$report['buffered'] = $forwarder !== null ? $forwarder->buffered() : null;
$report['hooks_registered'] = $forwarder !== null ? $forwarder->hooksRegistered : null;
$report['internal_errors'] = \WhmcsMonitor\Forwarder::$internalErrors;
echo json_encode($report), "\n";
