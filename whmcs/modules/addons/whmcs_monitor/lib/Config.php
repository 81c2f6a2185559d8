<?php
/**
 * Module settings, resolved once per request from three layers.
 *
 * Precedence, highest first, key by key: environment variables (WHMCS_MONITOR_<KEY>), then a
 * config.php beside the module (written by `whmcs-monitor whmcs install-module`), then the addon
 * settings WHMCS stores in tbladdonmodules. The installer's config.php holds only the URL, site
 * and secret, so the rest (categories, timeouts...) still comes from the settings page. The
 * database is queried only when some key is left unset by the first two layers, so a site that
 * sets every key there adds no query to a WHMCS request.
 *
 * Timeouts are clamped to the module's hard limits (connect <= 300 ms, total <= 2 s): a setting
 * can make delivery faster, never slower, because the flush runs inside a PHP worker.
 */

namespace WhmcsMonitor;

final class Config
{
    /** Hard ceilings that no setting may exceed (milliseconds). */
    const MAX_CONNECT_TIMEOUT_MS = 300;
    const MAX_TIMEOUT_MS = 2000;

    /** Every key, with its default. Keys double as the addon's _config field names. */
    const DEFAULTS = array(
        'collector_url' => '',
        'site_id' => '',
        'secret' => '',
        'spool_dir' => '',
        'categories' => 'all',
        'opt_in_hooks' => '',
        'connect_timeout_ms' => 300,
        'timeout_ms' => 2000,
        'spool_max_bytes' => 52428800,
        'max_event_bytes' => 65536,
        'max_buffer_events' => 500,
    );

    const INT_KEYS = array(
        'connect_timeout_ms', 'timeout_ms', 'spool_max_bytes', 'max_event_bytes', 'max_buffer_events',
    );

    /** Comma-separated lists; config.php may give them as PHP arrays. */
    const LIST_KEYS = array('categories', 'opt_in_hooks');

    /** @var array<string, mixed> */
    private $values;

    /** @var array<string, string> key => "env" | "config.php" | "database" | "default" */
    private $sources;

    /**
     * @param array<string, mixed> $values
     * @param array<string, string> $sources
     */
    public function __construct(array $values, array $sources = array())
    {
        $merged = array();
        foreach (self::DEFAULTS as $key => $default) {
            $value = array_key_exists($key, $values) ? $values[$key] : $default;
            if (in_array($key, self::INT_KEYS, true)) {
                $value = (int) $value;
            } else {
                $value = trim((string) $value);
            }
            $merged[$key] = $value;
            if (!isset($sources[$key])) {
                $sources[$key] = array_key_exists($key, $values) ? 'given' : 'default';
            }
        }
        $merged['connect_timeout_ms'] = self::clamp($merged['connect_timeout_ms'], 50, self::MAX_CONNECT_TIMEOUT_MS);
        $merged['timeout_ms'] = self::clamp($merged['timeout_ms'], $merged['connect_timeout_ms'], self::MAX_TIMEOUT_MS);
        $merged['spool_max_bytes'] = max(4096, $merged['spool_max_bytes']);
        $merged['max_event_bytes'] = self::clamp($merged['max_event_bytes'], 2048, 1048576);
        $merged['max_buffer_events'] = self::clamp($merged['max_buffer_events'], 1, 100000);
        $this->values = $merged;
        $this->sources = $sources;
    }

    /**
     * Resolve the layers. $dbLoader returns the tbladdonmodules settings (or throws); it is
     * injectable so the test harness can stand in for Capsule.
     *
     * @param callable|null $dbLoader function(): array<string, string>
     */
    public static function load($moduleDir, $dbLoader = null)
    {
        $values = array();
        $sources = array();

        $fromEnv = array();
        foreach (array_keys(self::DEFAULTS) as $key) {
            $fromEnv[$key] = getenv('WHMCS_MONITOR_' . strtoupper($key));
        }
        self::fill($fromEnv, 'env', $values, $sources);

        $file = $moduleDir . '/config.php';
        if (is_file($file)) {
            self::fill(self::includeFile($file), 'config.php', $values, $sources);
        }

        if (count($values) < count(self::DEFAULTS)) {
            $loader = $dbLoader !== null ? $dbLoader : array(self::class, 'loadFromDatabase');
            try {
                $fromDb = call_user_func($loader);
            } catch (\Throwable $e) {
                $fromDb = array();
            }
            self::fill(is_array($fromDb) ? $fromDb : array(), 'database', $values, $sources);
        }

        return new self($values, $sources);
    }

    /**
     * The addon settings from tbladdonmodules through Capsule, when WHMCS has booted it.
     *
     * WHMCS stores password-type addon fields encrypted; decrypt() is WHMCS's own helper and
     * is used only for the secret, only when it exists and yields something.
     *
     * @return array<string, string>
     */
    public static function loadFromDatabase()
    {
        if (!class_exists('\\WHMCS\\Database\\Capsule')) {
            return array();
        }
        $rows = \WHMCS\Database\Capsule::table('tbladdonmodules')
            ->where('module', 'whmcs_monitor')
            ->get(array('setting', 'value'));
        $settings = array();
        foreach ($rows as $row) {
            $settings[(string) $row->setting] = (string) $row->value;
        }
        if (isset($settings['secret']) && $settings['secret'] !== '' && function_exists('decrypt')) {
            $plain = decrypt($settings['secret']);
            if (is_string($plain) && $plain !== '') {
                $settings['secret'] = $plain;
            }
        }
        return $settings;
    }

    /**
     * Take from one layer each key no higher layer has set. An empty or unusable value (a
     * missing environment variable, an array for a setting that is not a list) leaves the key to
     * the next layer.
     *
     * @param array<mixed> $layer
     * @param array<string, mixed> $values
     * @param array<string, string> $sources
     */
    private static function fill(array $layer, $source, array &$values, array &$sources)
    {
        foreach ($layer as $key => $value) {
            if (!array_key_exists($key, self::DEFAULTS) || isset($values[$key])) {
                continue;
            }
            $value = self::scalar($key, $value);
            if ($value !== null) {
                $values[$key] = $value;
                $sources[$key] = $source;
            }
        }
    }

    /**
     * One setting as a usable scalar, or null. config.php is PHP, so a list may be written as
     * array('security', 'clients'); anything else that is not a scalar would be an "Array to
     * string conversion" on every request.
     *
     * @param mixed $value
     * @return int|float|string|null
     */
    private static function scalar($key, $value)
    {
        if (is_array($value) && in_array($key, self::LIST_KEYS, true)) {
            $value = implode(',', array_filter($value, 'is_scalar'));
        }
        if (!is_scalar($value) || is_bool($value) || $value === '') {
            return null;
        }
        return $value;
    }

    /** @return array<string, mixed> */
    private static function includeFile($file)
    {
        $data = include $file;
        return is_array($data) ? $data : array();
    }

    private static function clamp($value, $min, $max)
    {
        return max($min, min($max, (int) $value));
    }

    /** @return mixed */
    public function get($key)
    {
        return $this->values[$key];
    }

    /** Where a key's value came from, for the status page. */
    public function source($key)
    {
        return isset($this->sources[$key]) ? $this->sources[$key] : 'default';
    }

    /** True when the collector URL, site id and secret are all set. */
    public function isComplete()
    {
        return $this->values['collector_url'] !== '' && $this->values['site_id'] !== '' && $this->values['secret'] !== '';
    }

    /** The ingest endpoint: the collector URL plus the protocol path unless already given. */
    public function ingestUrl()
    {
        $url = rtrim($this->values['collector_url'], '/');
        if (substr($url, -strlen('/api/v1/ingest')) === '/api/v1/ingest') {
            return $url;
        }
        return $url . '/api/v1/ingest';
    }

    /**
     * The spool directory. Default: a per-installation folder under the system temp dir, which
     * is outside any web root; the installer writes an explicit one into config.php.
     */
    public function spoolDir($whmcsRoot = null)
    {
        $dir = $this->values['spool_dir'];
        if ($dir !== '') {
            return rtrim($dir, '/');
        }
        $root = $whmcsRoot !== null ? $whmcsRoot : (defined('ROOTDIR') ? ROOTDIR : __DIR__);
        return rtrim(sys_get_temp_dir(), '/') . '/whmcs_monitor-' . substr(sha1((string) $root), 0, 12);
    }

    /** @return string[]|null category ids enabled, or null for all */
    public function categories()
    {
        return self::csv($this->values['categories'], true);
    }

    /** @return string[]|null opt-in hook names (or kinds) enabled, or null for all */
    public function optInHooks()
    {
        $list = self::csv($this->values['opt_in_hooks'], false);
        return $list === null ? null : $list;
    }

    /** @return string[]|null */
    private static function csv($value, $emptyMeansAll)
    {
        $value = trim((string) $value);
        if (strtolower($value) === 'all' || ($value === '' && $emptyMeansAll)) {
            return null;
        }
        $parts = array();
        foreach (preg_split('/[\s,]+/', $value) as $part) {
            if ($part !== '') {
                $parts[] = $part;
            }
        }
        return $parts;
    }
}
