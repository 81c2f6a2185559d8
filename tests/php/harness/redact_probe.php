<?php
/**
 * Prints how the module's Redactor, built from the module's hooks.json, redacts each value of a
 * JSON list (no catalog path rules, so only the generic key and value rules apply):
 *
 *   php redact_probe.php MODULE_DIR CASES.json
 */

require $argv[1] . '/lib/bootstrap.php';

$redactor = \WhmcsMonitor\Redactor::fromCatalog(\WhmcsMonitor\HookCatalog::load($argv[1] . '/hooks.json'));
$out = array();
foreach (json_decode((string) file_get_contents($argv[2]), true) as $case) {
    $out[] = $redactor->redact($case);
}
echo json_encode($out, JSON_UNESCAPED_SLASHES | JSON_PRESERVE_ZERO_FRACTION), "\n";
