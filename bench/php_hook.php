<?php
/**
 * Benchmark of the addon module's two costs. Run through bench/php_hook.py, which sets up the
 * collector scenarios; by hand:
 *
 *   php bench/php_hook.php request [CALLS]
 *       Time added inside the WHMCS request per hook call (the buffering path), against an
 *       empty handler, for realistic $vars shapes. Prints JSON.
 *
 *   WHMCS_MONITOR_COLLECTOR_URL=... WHMCS_MONITOR_SITE_ID=... WHMCS_MONITOR_SECRET=... \
 *   WHMCS_MONITOR_SPOOL_DIR=... php bench/php_hook.php flush ROUNDS EVENTS_PER_ROUND
 *       Time of the shutdown flush, round after round (each round = one WHMCS request's worth of
 *       events), then one more round after the breaker window has passed. Prints JSON with the
 *       accounting that shows nothing was lost.
 */

if (!defined('WHMCS')) {
    define('WHMCS', true);
}
if (!defined('ROOTDIR')) {
    define('ROOTDIR', sys_get_temp_dir() . '/whmcs-bench-root');
}

$moduleDir = dirname(__DIR__) . '/whmcs/modules/addons/whmcs_monitor';
require $moduleDir . '/lib/bootstrap.php';
require dirname(__DIR__) . '/tests/php/harness/whmcs.php';

use WhmcsMonitor\Config;
use WhmcsMonitor\Forwarder;
use WhmcsMonitor\HookCatalog;
use WhmcsMonitor\Spool;
use WhmcsMonitor\State;

/** @return array<string, array{0: string, 1: mixed}> shape name => [hook, vars] */
function bench_shapes()
{
    $params = array(
        'serviceid' => 301, 'userid' => 7, 'pid' => 4, 'serverid' => 2, 'domain' => 'alice.example',
        'username' => 'alice1', 'password' => 'Svc-Pass', 'producttype' => 'hostingaccount',
        'moduletype' => 'cpanel', 'configoption1' => 'default', 'configoption2' => '',
        'clientsdetails' => array('userid' => 7, 'firstname' => 'Alice', 'lastname' => 'Doe',
            'email' => 'alice@example.com', 'country' => 'GB', 'phonenumber' => '+44.2079460958'),
        'customfields' => array('Root password' => 'x'), 'configoptions' => array('Disk' => 10),
        'server' => true, 'serverip' => '198.51.100.2', 'serverhostname' => 'web1.example.net',
        'serverusername' => 'root', 'serverpassword' => 'Srv-Pass', 'serveraccesshash' => 'hash',
        'serversecure' => true, 'serverport' => 2087,
    );
    return array(
        'InvoicePaid (id + Invoice object)' => array('InvoicePaid', array(
            'invoiceid' => 1001,
            'invoice' => new \WHMCS\Billing\Invoice(array('id' => 1001, 'userid' => 7, 'status' => 'Paid',
                'total' => '25.00', 'paymentmethod' => 'stripe', 'notes' => 'n')),
        )),
        'AfterModuleCreate (module params)' => array('AfterModuleCreate', array('params' => $params)),
        'TicketOpen (text)' => array('TicketOpen', array(
            'ticketid' => 9, 'ticketmask' => 'ABC-123', 'userid' => 7, 'deptid' => 1,
            'deptname' => 'Support', 'subject' => 'My site is down',
            'message' => str_repeat('Hello, my website returns a 500 error since this morning. ', 8),
            'priority' => 'High',
        )),
        'ClientAdd (flat, with password)' => array('ClientAdd', array(
            'client_id' => 7, 'user_id' => 12, 'firstname' => 'Alice', 'lastname' => 'Doe',
            'companyname' => '', 'email' => 'alice@example.com', 'address1' => '1 Road',
            'city' => 'London', 'state' => '', 'postcode' => 'N1', 'country' => 'GB',
            'phonenumber' => '+44.2079460958', 'password' => 'Pw', 'customFields' => array(),
        )),
    );
}

function bench_median(array $values)
{
    sort($values);
    $n = count($values);
    return $n % 2 ? $values[intdiv($n, 2)] : ($values[$n / 2 - 1] + $values[$n / 2]) / 2;
}

function bench_percentile(array $values, $p)
{
    sort($values);
    return $values[min(count($values) - 1, (int) floor($p / 100 * count($values)))];
}

function bench_forwarder($moduleDir)
{
    $config = Config::load($moduleDir, function () {
        return array();
    });
    $catalog = HookCatalog::load($moduleDir . '/hooks.json');
    $forwarder = new Forwarder($config, $catalog);
    Forwarder::setInstance($forwarder);
    return $forwarder;
}

/** Throw away a buffer without flushing it (the request benchmark sends nothing). */
function bench_discard(Forwarder $forwarder)
{
    $reset = \Closure::bind(function () {
        $this->buffer = array();
    }, $forwarder, Forwarder::class);
    $reset();
}

function bench_request($moduleDir, $calls)
{
    putenv('WHMCS_MONITOR_COLLECTOR_URL=http://127.0.0.1:9');
    putenv('WHMCS_MONITOR_SITE_ID=bench');
    putenv('WHMCS_MONITOR_SECRET=bench-secret');
    putenv('WHMCS_MONITOR_MAX_BUFFER_EVENTS=100000');
    putenv('WHMCS_MONITOR_SPOOL_DIR=' . sys_get_temp_dir() . '/whmcs-bench-request-' . getmypid());
    $forwarder = bench_forwarder($moduleDir);
    $empty = static function ($vars = array()) {
    };
    $results = array();
    foreach (bench_shapes() as $name => $shape) {
        list($hook, $vars) = $shape;
        $handler = \WhmcsMonitor\Module::handler($hook);
        for ($i = 0; $i < 200; $i++) { // warm up
            $handler($vars);
            $empty($vars);
        }
        bench_discard($forwarder);
        $withModule = array();
        $baseline = array();
        for ($i = 0; $i < $calls; $i++) {
            $t0 = hrtime(true);
            $empty($vars);
            $t1 = hrtime(true);
            $handler($vars);
            $t2 = hrtime(true);
            $baseline[] = $t1 - $t0;
            $withModule[] = $t2 - $t1;
            if ($i % 1000 === 999) {
                bench_discard($forwarder);
            }
        }
        bench_discard($forwarder);
        // The work the request path defers to shutdown (after the response): normalize,
        // redact, cap and encode. Reported so the deferral is visible, not hidden.
        for ($i = 0; $i < 1000; $i++) {
            $handler($vars);
        }
        $t0 = hrtime(true);
        $forwarder->drain();
        $deferred = (hrtime(true) - $t0) / 1000;
        $added = bench_median($withModule) - bench_median($baseline);
        $results[] = array(
            'shape' => $name,
            'calls' => $calls,
            'empty_handler_median_us' => round(bench_median($baseline) / 1000, 3),
            'module_handler_median_us' => round(bench_median($withModule) / 1000, 3),
            'added_median_us' => round($added / 1000, 3),
            'module_handler_p99_us' => round(bench_percentile($withModule, 99) / 1000, 3),
            'deferred_to_shutdown_us_per_event' => round($deferred / 1000, 3),
        );
    }
    return array('mode' => 'request', 'php' => PHP_VERSION, 'opcache_cli' => (bool) ini_get('opcache.enable_cli'), 'shapes' => $results);
}

function bench_flush($moduleDir, $rounds, $perRound)
{
    $shapes = array_values(bench_shapes());
    $forwarder = bench_forwarder($moduleDir);
    $times = array();
    $captured = 0;
    $capture = function (Forwarder $f) use ($shapes, $perRound, &$captured) {
        for ($i = 0; $i < $perRound; $i++) {
            list($hook, $vars) = $shapes[$i % count($shapes)];
            $f->capture($hook, $vars);
            $captured++;
        }
    };
    for ($r = 0; $r < $rounds; $r++) {
        $capture($forwarder);
        $t0 = hrtime(true);
        $forwarder->flush();
        $times[] = (hrtime(true) - $t0) / 1e6;
    }
    // The breaker window passes (simulated by expiring its file): the next flush tries again.
    $dir = $forwarder->config()->spoolDir();
    $breakerFile = $dir . '/breaker.json';
    $afterWindow = null;
    if (is_file($breakerFile)) {
        $state = json_decode((string) file_get_contents($breakerFile), true);
        $state['open_until'] = 0;
        file_put_contents($breakerFile, json_encode($state));
        $next = bench_forwarder($moduleDir);
        $capture($next);
        $t0 = hrtime(true);
        $next->flush();
        $afterWindow = (hrtime(true) - $t0) / 1e6;
    }
    clearstatcache();
    $state = (new State($dir))->read();
    $spool = new Spool($dir, PHP_INT_MAX, new State($dir));
    return array(
        'mode' => 'flush',
        'rounds' => $rounds,
        'events_per_round' => $perRound,
        'first_flush_ms' => round($times[0], 3),
        'later_flush_median_ms' => round(bench_median(array_slice($times, 1)), 3),
        'later_flush_max_ms' => round(max(array_slice($times, 1)), 3),
        'flush_after_breaker_window_ms' => $afterWindow === null ? null : round($afterWindow, 3),
        'captured' => $captured,
        'sent' => (int) $state['sent_events'],
        'spooled' => $spool->depth(),
        'dropped' => (int) $state['dropped_events'],
        'rejected' => (int) $state['rejected_events'],
    );
}

// Keep the module's shutdown flush out of the measurements: everything is flushed explicitly.
register_shutdown_function(function () {
    $forwarder = Forwarder::instance();
    if ($forwarder !== null) {
        bench_discard($forwarder);
    }
});

$mode = isset($argv[1]) ? $argv[1] : 'request';
if ($mode === 'request') {
    $out = bench_request($moduleDir, isset($argv[2]) ? (int) $argv[2] : 20000);
} elseif ($mode === 'flush') {
    $out = bench_flush($moduleDir, isset($argv[2]) ? (int) $argv[2] : 20, isset($argv[3]) ? (int) $argv[3] : 10);
} else {
    fwrite(STDERR, "usage: php bench/php_hook.php request [CALLS] | flush ROUNDS EVENTS_PER_ROUND\n");
    exit(2);
}
echo json_encode($out, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES), "\n";
