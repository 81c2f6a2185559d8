<?php
/**
 * whmcs-monitor addon module: forwards every WHMCS hook event to a whmcs-monitor collector.
 *
 * This file holds WHMCS's addon entry points: settings (_config), activation, and the admin
 * status page (_output). The forwarding itself lives in hooks.php and lib/.
 */

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

require_once __DIR__ . '/lib/bootstrap.php';

/**
 * Addon settings. Environment variables (WHMCS_MONITOR_<FIELD>) and config.php beside this file
 * take precedence over what is saved here.
 */
function whmcs_monitor_config()
{
    return array(
        'name' => 'whmcs-monitor',
        'description' => 'Forwards WHMCS hook events to a whmcs-monitor collector, signed, buffered per request, '
            . 'sent after the response, spooled and replayed when the collector is unreachable.',
        'author' => 'whmcs-monitor',
        'language' => 'english',
        'version' => \WhmcsMonitor\Module::VERSION,
        'fields' => array(
            'collector_url' => array(
                'FriendlyName' => 'Collector URL',
                'Type' => 'text',
                'Size' => '60',
                'Description' => 'Base URL of the whmcs-monitor service, e.g. https://monitor.example.com',
            ),
            'site_id' => array(
                'FriendlyName' => 'Site ID',
                'Type' => 'text',
                'Size' => '30',
                'Description' => 'The id this WHMCS installation has in the monitor',
            ),
            'secret' => array(
                'FriendlyName' => 'Site secret',
                'Type' => 'password',
                'Size' => '60',
                'Description' => 'Shared secret used to sign every batch (HMAC-SHA256)',
            ),
            'spool_dir' => array(
                'FriendlyName' => 'Spool directory',
                'Type' => 'text',
                'Size' => '60',
                'Description' => 'Where unsent events wait. Must be outside the web root. Empty: a private folder in the system temp dir',
            ),
            'categories' => array(
                'FriendlyName' => 'Enabled categories',
                'Type' => 'text',
                'Size' => '60',
                'Default' => 'all',
                'Description' => '"all", or comma-separated catalog categories (clients, orders_payments, domains...)',
            ),
            'opt_in_hooks' => array(
                'FriendlyName' => 'Opt-in hooks',
                'Type' => 'text',
                'Size' => '60',
                'Description' => 'Noisy traffic hooks to forward too: comma-separated hook names or kinds, or "all"',
            ),
            'connect_timeout_ms' => array(
                'FriendlyName' => 'Connect timeout (ms)',
                'Type' => 'text',
                'Size' => '6',
                'Default' => '300',
                'Description' => 'At most 300',
            ),
            'timeout_ms' => array(
                'FriendlyName' => 'Total timeout (ms)',
                'Type' => 'text',
                'Size' => '6',
                'Default' => '2000',
                'Description' => 'At most 2000',
            ),
        ),
    );
}

function whmcs_monitor_activate()
{
    try {
        $config = \WhmcsMonitor\Config::load(__DIR__);
        $dir = $config->spoolDir();
        $problems = array();
        if (!function_exists('curl_init')) {
            $problems[] = 'the PHP curl extension is missing (events will only be spooled)';
        }
        if (!\WhmcsMonitor\Spool::ensureDir($dir)) {
            $problems[] = 'the spool directory ' . $dir . ' cannot be created or written';
        }
        if (!is_file(__DIR__ . '/hooks.json')) {
            $problems[] = 'hooks.json is missing; reinstall the module';
        }
        if ($problems) {
            return array('status' => 'info', 'description' => 'whmcs-monitor activated with warnings: ' . implode('; ', $problems));
        }
        return array(
            'status' => 'success',
            'description' => 'whmcs-monitor activated. Set the collector URL, site id and secret (or use config.php), then use "Send test event" on the module page.',
        );
    } catch (\Throwable $e) {
        return array('status' => 'error', 'description' => 'whmcs-monitor could not activate: ' . $e->getMessage());
    }
}

function whmcs_monitor_deactivate()
{
    return array(
        'status' => 'success',
        'description' => 'whmcs-monitor deactivated. Hooks are no longer forwarded; unsent events stay in the spool directory and are replayed if you activate it again.',
    );
}

/** The admin status page. */
function whmcs_monitor_output($vars)
{
    $h = function ($value) {
        return htmlspecialchars((string) $value, ENT_QUOTES, 'UTF-8');
    };
    try {
        $forwarder = \WhmcsMonitor\Forwarder::instance();
        $config = $forwarder !== null ? $forwarder->config() : \WhmcsMonitor\Config::load(__DIR__);
        if (!$config->isComplete()) {
            echo '<div class="alert alert-warning">whmcs-monitor is not configured: set the collector URL, site id and secret '
                . '(addon settings, config.php beside the module, or WHMCS_MONITOR_* environment variables).</div>';
            return;
        }
        if ($forwarder === null) {
            $catalog = \WhmcsMonitor\HookCatalog::load(__DIR__ . '/hooks.json');
            $forwarder = new \WhmcsMonitor\Forwarder($config, $catalog);
            $forwarder->hooksRegistered = count($catalog->selectHooks($config->categories(), $config->optInHooks()));
        }

        $testOutcome = '';
        if (isset($_POST['whmcs_monitor_action']) && $_POST['whmcs_monitor_action'] === 'test') {
            if (function_exists('check_token')) {
                check_token('WHMCS.admin.default');
            }
            $result = $forwarder->sendTestEvent();
            $class = $result->ok ? 'success' : 'danger';
            $text = $result->ok
                ? sprintf('Collector answered HTTP %d in %d ms: %s', $result->status, $result->seconds * 1000, $result->body)
                : sprintf('Test event failed after %d ms: %s', $result->seconds * 1000, $result->error);
            $testOutcome = '<div class="alert alert-' . $class . '">' . $h($text) . '</div>';
        }

        $state = $forwarder->state()->read();
        $breaker = $forwarder->breaker();
        $breakerState = $breaker->state();
        $spool = $forwarder->spool();
        $spoolDir = $spool->dir();
        $insideRoot = defined('ROOTDIR') && strpos(realpath($spoolDir) ?: $spoolDir, rtrim(ROOTDIR, '/') . '/') === 0;

        $rows = array(
            'Last successful send' => $state['last_success_at']
                ? $state['last_success_at'] . ' (HTTP ' . $state['last_success_status'] . ', accepted ' . $state['last_accepted'] . ', duplicates ' . $state['last_duplicates'] . ')'
                : 'never',
            'Last error' => $state['last_error'] ? $state['last_error_at'] . ': ' . $state['last_error'] : 'none',
            'Spool depth' => $spool->depth() . ' event(s), ' . $spool->bytes() . ' bytes in ' . $spoolDir
                . ($insideRoot ? ' (WARNING: inside the WHMCS directory; move it outside the web root)' : ''),
            'Dropped events' => $state['dropped_events'] . ($state['last_drop_reason'] ? ' (last: ' . $state['last_drop_at'] . ', ' . $state['last_drop_reason'] . ')' : ''),
            'Rejected events' => $state['rejected_events'] . ' (kept in rejected.jsonl in the spool directory)',
            'Circuit breaker' => $breaker->isOpen()
                ? 'OPEN until ' . gmdate('H:i:s', (int) $breakerState['open_until']) . ' UTC: ' . (isset($breakerState['reason']) ? $breakerState['reason'] : '')
                : 'closed',
            'Events sent (total)' => $state['sent_events'],
            'Module version' => \WhmcsMonitor\Module::VERSION,
            'Catalog version' => $forwarder->catalog()->version,
            'Hooks registered' => $forwarder->hooksRegistered . ' of ' . count($forwarder->catalog()->hooks) . ' in hooks.json',
            'Collector' => $config->ingestUrl() . ' (site ' . $config->get('site_id') . ')',
            'PHP / WHMCS' => PHP_VERSION . ' / ' . \WhmcsMonitor\Forwarder::whmcsVersion()
                . (function_exists('curl_init') ? '' : ' (curl extension MISSING)'),
        );
        $sources = array();
        foreach (array_keys(\WhmcsMonitor\Config::DEFAULTS) as $key) {
            $sources[] = $key . ': ' . $config->source($key);
        }
        $rows['Settings from'] = implode(', ', $sources);

        echo $testOutcome;
        echo '<table class="table table-condensed" style="max-width:60em">';
        foreach ($rows as $label => $value) {
            echo '<tr><th style="width:14em">' . $h($label) . '</th><td>' . $h($value) . '</td></tr>';
        }
        echo '</table>';
        $link = isset($vars['modulelink']) ? $vars['modulelink'] : 'addonmodules.php?module=whmcs_monitor';
        echo '<form method="post" action="' . $h($link) . '">'
            . (function_exists('generate_token') ? generate_token('form') : '')
            . '<input type="hidden" name="whmcs_monitor_action" value="test">'
            . '<button type="submit" class="btn btn-primary">Send test event</button></form>';
    } catch (\Throwable $e) {
        echo '<div class="alert alert-danger">whmcs-monitor status unavailable: ' . $h($e->getMessage()) . '</div>';
    }
}
