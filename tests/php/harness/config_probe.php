<?php
/**
 * Prints the module's resolved settings and their sources as JSON, with a stand-in for the
 * tbladdonmodules rows read from the file named by argv[2]:
 *
 *   php config_probe.php MODULE_DIR DB_SETTINGS.json
 */

require __DIR__ . '/whmcs.php';
require $argv[1] . '/lib/bootstrap.php';

$db = json_decode((string) file_get_contents($argv[2]), true);
$queried = false;
$config = \WhmcsMonitor\Config::load($argv[1], function () use ($db, &$queried) {
    $queried = true;
    return $db;
});
$out = array('db_queried' => $queried, 'values' => array(), 'sources' => array());
foreach (array_keys(\WhmcsMonitor\Config::DEFAULTS) as $key) {
    $out['values'][$key] = $config->get($key);
    $out['sources'][$key] = $config->source($key);
}
$out['ingest_url'] = $config->ingestUrl();
echo json_encode($out), "\n";
