<?php
/**
 * Per-request buffer of hook events, flushed as one signed batch when the request ends.
 *
 * The request path (capture) only appends [hook, time, vars] to an array: that is all a hook
 * call costs the customer. Everything slow (normalizing, redacting, encoding, the network, the
 * spool) runs at shutdown, after the response has been handed to the web server
 * (fastcgi_finish_request) when PHP-FPM offers it.
 *
 * Delivery at shutdown, within one time budget (timeout_ms) for every POST of the flush, sends
 * and replay alike, so a PHP worker is never held longer than that:
 *   breaker open        -> append to the spool, no network at all
 *   send ok             -> close the breaker, then replay the spool (in order)
 *   transient failure   -> spool this batch and the rest, open the breaker for 60 s
 *   budget spent        -> spool what is left, breaker untouched (the collector is not at fault)
 *   permanent rejection -> split the batch to find the bad events, set those aside in
 *                          rejected.jsonl, deliver the rest (what time leaves unsorted is
 *                          spooled, never rejected)
 * On AfterCronJob it also adds a heartbeat and replays the spool even when nothing else was sent.
 *
 * Nothing here may reach WHMCS: every entry point catches Throwable, and hook handlers return
 * nothing, so hooks that act on return values (abortcmd, abortWithError...) are unaffected.
 */

namespace WhmcsMonitor;

final class Forwarder
{
    const HEARTBEAT_KIND = 'forwarder.heartbeat';
    const DROPPED_KIND = 'forwarder.spool_dropped';

    /** Below this many milliseconds left, a flush starts no more POSTs (too short to answer). */
    const MIN_POST_MS = 50;

    /** @var Forwarder|null the one instance hooks.php booted */
    private static $instance;

    /** @var int Throwables swallowed in this request */
    public static $internalErrors = 0;

    /** @var Config */
    private $config;

    /** @var HookCatalog */
    private $catalog;

    /** @var list<array{0: string, 1: float, 2: mixed}> [hook, microtime, vars] */
    private $buffer = array();

    /** @var bool */
    private $shutdownRegistered = false;

    /** @var bool */
    private $cronRequested = false;

    /** @var int */
    public $hooksRegistered = 0;

    /** @var Spool|null */
    private $spool;

    /** @var Breaker|null */
    private $breaker;

    /** @var State|null */
    private $state;

    /** @var Sender|null */
    private $sender;

    /** @var Redactor|null */
    private $redactor;

    /** @var float when the current flush must stop sending (microtime) */
    private $deadline = 0.0;

    public function __construct(Config $config, HookCatalog $catalog)
    {
        $this->config = $config;
        $this->catalog = $catalog;
    }

    public static function setInstance(?Forwarder $forwarder)
    {
        self::$instance = $forwarder;
    }

    /** @return Forwarder|null */
    public static function instance()
    {
        return self::$instance;
    }

    /**
     * The hook handler body. Static and total: whatever happens, WHMCS sees nothing.
     *
     * @param mixed $vars
     */
    public static function handle($hook, $vars)
    {
        try {
            if (self::$instance !== null) {
                self::$instance->capture($hook, $vars);
            }
        } catch (\Throwable $e) {
            self::internalError($e);
        }
    }

    /** AfterCronJob: send a heartbeat and replay the spool at the end of this cron run. */
    public static function handleCron()
    {
        try {
            if (self::$instance !== null) {
                self::$instance->requestCronWork();
            }
        } catch (\Throwable $e) {
            self::internalError($e);
        }
    }

    /**
     * The request path: remember the event, nothing more. Objects are snapshotted now (as safe
     * arrays) because they may change, or be gone, by shutdown.
     *
     * @param mixed $vars
     */
    public function capture($hook, $vars)
    {
        if (is_array($vars)) {
            foreach ($vars as $key => $value) {
                if (is_object($value)) {
                    $vars[$key] = Normalizer::object($value);
                }
            }
        } elseif (is_object($vars)) {
            $vars = array('value' => Normalizer::object($vars));
        }
        $this->buffer[] = array($hook, microtime(true), $vars);
        if (!$this->shutdownRegistered) {
            $this->registerShutdown();
        }
        if (count($this->buffer) >= $this->config->get('max_buffer_events')) {
            $this->spill();
        }
    }

    public function requestCronWork()
    {
        $this->cronRequested = true;
        if (!$this->shutdownRegistered) {
            $this->registerShutdown();
        }
    }

    /** Events waiting in this request's buffer. */
    public function buffered()
    {
        return count($this->buffer);
    }

    private function registerShutdown()
    {
        $this->shutdownRegistered = true;
        register_shutdown_function(array($this, 'shutdown'));
    }

    /**
     * First shutdown pass: re-register so the flush runs after every other shutdown function
     * (WHMCS's own included), then the flush itself.
     */
    public function shutdown()
    {
        register_shutdown_function(array($this, 'flushAtShutdown'));
    }

    public function flushAtShutdown()
    {
        try {
            self::finishRequest();
            $this->flush();
        } catch (\Throwable $e) {
            self::internalError($e);
        }
    }

    /**
     * Hand the response to the client before any slow work. Output buffers are flushed first
     * (they would otherwise be emitted after the request was closed, i.e. lost), and the session
     * is written so the user's next request does not wait on its lock while we talk to the
     * collector.
     */
    private static function finishRequest()
    {
        if (PHP_SAPI === 'cli') {
            return;
        }
        $finish = function_exists('fastcgi_finish_request') ? 'fastcgi_finish_request'
            : (function_exists('litespeed_finish_request') ? 'litespeed_finish_request' : null);
        if ($finish === null) {
            return;
        }
        while (ob_get_level() > 0) {
            if (!@ob_end_flush()) {
                break;
            }
        }
        if (function_exists('session_status') && session_status() === PHP_SESSION_ACTIVE) {
            session_write_close();
        }
        call_user_func($finish);
    }

    /** Build, deliver or spool everything buffered; replay when that is due. */
    public function flush()
    {
        $lines = $this->drain();
        $report = null;
        if ($this->cronRequested) {
            $lines[] = $this->heartbeatLine();
            $report = $this->droppedReport();
            if ($report !== null) {
                $lines[] = $report['line'];
            }
        }
        $this->startDeadline();
        $kept = $this->deliver($lines);
        if ($report !== null && $kept === count($lines)) {
            // Only now: a report lost with the rest (spool full) must be made again next time.
            $this->state()->markDroppedReported($report['total']);
        }
        if (($lines || $this->cronRequested) && !$this->breaker()->isOpen()) {
            $this->replay();
        }
        $this->cronRequested = false;
    }

    /**
     * Too many events for one request (a long cron run): encode what we have and, on the CLI,
     * send it now; on the web, park it in the spool so the shutdown flush stays bounded.
     */
    private function spill()
    {
        $lines = $this->drain();
        if (PHP_SAPI === 'cli') {
            $this->startDeadline();
            $this->deliver($lines);
        } else {
            $this->spool()->append($lines);
        }
    }

    /**
     * Normalize, redact, cap and encode the buffer; empty it.
     *
     * @return string[]
     */
    public function drain()
    {
        $buffer = $this->buffer;
        $this->buffer = array();
        if (!$buffer) {
            return array();
        }
        $context = self::context();
        $lines = array();
        foreach ($buffer as $item) {
            try {
                $lines[] = $this->encodeHookEvent($item[0], $item[1], $item[2], $context);
            } catch (\Throwable $e) {
                self::internalError($e);
                $this->state()->recordDropped(1, 'could not encode a ' . $item[0] . ' event');
            }
        }
        return $lines;
    }

    /**
     * @param mixed $vars
     * @param array<string, mixed> $context
     */
    public function encodeHookEvent($hook, $time, $vars, array $context)
    {
        $entry = $this->catalog->entry($hook);
        $vars = Normalizer::value($vars);
        if (!is_array($vars)) {
            $vars = array('value' => $vars);
        } elseif ($vars && array_keys($vars) === range(0, count($vars) - 1)) {
            $vars = array('args' => $vars); // positional hook arguments
        }
        $vars = $this->redactor()->redact(
            $vars,
            $entry !== null ? $entry['sensitive'] : array(),
            $entry !== null ? $entry['keep'] : array()
        );
        return $this->encode(array(
            'id' => EventId::uuid4(),
            'hook' => $hook,
            'occurred_at' => EventId::rfc3339($time),
            'vars' => $vars,
            'context' => $context,
        ));
    }

    /**
     * JSON-encode an event, shrinking its vars when it is over the size cap: first long values
     * and nested arrays are dropped (top-level ids and short scalars stay), then everything.
     *
     * @param array<string, mixed> $event
     */
    public function encode(array $event)
    {
        $max = (int) $this->config->get('max_event_bytes');
        $line = self::json($event);
        if (strlen($line) <= $max) {
            return $line;
        }
        $original = strlen($line);
        $small = array('_truncated' => true, '_original_bytes' => $original);
        foreach ((array) $event['vars'] as $key => $value) {
            if (is_int($value) || is_float($value) || is_bool($value) || $value === null
                || (is_string($value) && strlen($value) <= 256)) {
                $small[$key] = $value;
            }
        }
        $event['vars'] = $small;
        $line = self::json($event);
        if (strlen($line) <= $max) {
            return $line;
        }
        $event['vars'] = array('_truncated' => true, '_original_bytes' => $original);
        return self::json($event);
    }

    /** @param mixed $data */
    private static function json($data)
    {
        $flags = JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION | JSON_INVALID_UTF8_SUBSTITUTE;
        if (isset($data['vars']) && $data['vars'] === array()) {
            $data['vars'] = new \stdClass();
        }
        $json = json_encode($data, $flags);
        if ($json === false) {
            $json = (string) json_encode($data, $flags | JSON_PARTIAL_OUTPUT_ON_ERROR);
        }
        return $json;
    }

    /**
     * Send lines in batches unless the breaker is open; spool what cannot be sent.
     *
     * @param string[] $lines
     * @return int how many lines were kept (sent, set aside as rejected or spooled). The spool
     *             keeps the oldest lines, so what was dropped is always at the end.
     */
    public function deliver(array $lines)
    {
        $pending = $lines;
        if (!$this->breaker()->isOpen()) {
            $batches = Batch::split($lines);
            $pending = array();
            foreach ($batches as $index => $batch) {
                $result = $this->sendBatch($batch);
                if (!$result->ok) {
                    $pending = array_merge($result->unsent, ...array_slice($batches, $index + 1));
                    break;
                }
            }
        }
        if (!$pending) {
            return count($lines);
        }
        return count($lines) - count($pending) + $this->spool()->append($pending);
    }

    /**
     * Start the time budget of one flush: every POST it makes, sends and replay alike, must end
     * by then, because the flush holds a PHP worker (and, without fastcgi_finish_request, the
     * customer's page).
     */
    private function startDeadline()
    {
        $this->deadline = microtime(true) + $this->config->get('timeout_ms') / 1000;
    }

    /**
     * One POST, given only the time the flush has left; none when almost nothing is left. A POST
     * that timed out because it was given less than the full timeout is deferred, not a collector
     * failure: the next flush, with a whole budget, tells the two apart.
     *
     * @param string[] $batch
     */
    private function post(array $batch)
    {
        $fullMs = $this->config->get('timeout_ms');
        $leftMs = (int) floor(($this->deadline - microtime(true)) * 1000);
        if ($leftMs < self::MIN_POST_MS) {
            return SendResult::deferred($batch);
        }
        $result = $this->sender()->send($batch, min($fullMs, $leftMs));
        $result->deferred = $result->timedOut && $leftMs < $fullMs;
        return $result;
    }

    /**
     * One batch to the collector, with the bookkeeping every send shares. A permanently refused
     * batch is halved until the refused events are isolated; those go to rejected.jsonl. When the
     * result is not ok, its `unsent` lines are the ones the caller must spool.
     *
     * @param string[] $batch
     */
    public function sendBatch(array $batch)
    {
        $result = $this->post($batch);
        if ($result->ok) {
            $this->state()->recordSuccess($result->accepted, $result->duplicates, $result->status);
            $this->breaker()->close();
            return $result;
        }
        if ($result->permanent && count($batch) > 1) {
            return $this->bisect($batch, $result);
        }
        if ($result->permanent) {
            $this->spool()->reject($batch, $result->error);
            $result->ok = true; // handled: set aside, counted, reported
            return $result;
        }
        $result->unsent = $batch;
        if (!$result->deferred) {
            $this->state()->recordError($result->error);
            $this->breaker()->trip($result->error);
        }
        return $result;
    }

    /**
     * The collector refused a batch: send each half on its own until the refused events are
     * alone. Only an event refused by itself is known to be bad; halves the time budget leaves
     * untried come back as unsent (deferred), to wait in the spool and be sorted out later.
     *
     * @param string[] $batch
     */
    private function bisect(array $batch, SendResult $refused)
    {
        $half = (int) ceil(count($batch) / 2);
        $parts = array(array_slice($batch, 0, $half), array_slice($batch, $half));
        foreach ($parts as $index => $part) {
            $result = $this->sendBatch($part);
            if (!$result->ok) {
                $result->unsent = array_merge($result->unsent, ...array_slice($parts, $index + 1));
                return $result;
            }
        }
        $refused->ok = true;
        return $refused;
    }

    /** Replay the spool in order with what is left of the flush's time budget. */
    public function replay()
    {
        $forwarder = $this;
        return $this->spool()->replay(
            function (array $batch) use ($forwarder) {
                return $forwarder->sendBatch($batch);
            },
            Batch::MAX_EVENTS,
            Batch::MAX_BYTES,
            max(0.0, $this->deadline - microtime(true))
        );
    }

    /**
     * The heartbeat event: lets the monitor tell "forwarder silent" from "nothing happening".
     *
     * @param array<string, mixed> $extra more vars (the test button marks its heartbeat)
     */
    public function heartbeatLine(array $extra = array())
    {
        $state = $this->state()->read();
        return self::json(array(
            'id' => EventId::uuid4(),
            'kind' => self::HEARTBEAT_KIND,
            'occurred_at' => EventId::rfc3339(microtime(true)),
            'vars' => array_merge(array(
                'module_version' => Module::VERSION,
                'catalog_version' => $this->catalog->version,
                'hooks_registered' => $this->hooksRegistered,
                'spool_depth' => $this->spool()->depth(),
                'dropped_events' => (int) $state['dropped_events'],
                'rejected_events' => (int) $state['rejected_events'],
                'php_version' => PHP_VERSION,
                'whmcs_version' => self::whmcsVersion(),
            ), $extra),
            'context' => self::context(),
        ));
    }

    /**
     * A forwarder.spool_dropped event when events were dropped since the last report, so the
     * loss raises an alert instead of waiting to be noticed in a counter. The event itself goes
     * through the normal path (and the spool); the caller marks the loss reported only once the
     * event was sent or spooled, so a report dropped in turn is made again next time.
     *
     * @return array{line: string, total: int}|null
     */
    public function droppedReport()
    {
        $state = $this->state()->read();
        $delta = (int) $state['dropped_events'] - (int) $state['dropped_reported'];
        if ($delta <= 0) {
            return null;
        }
        $line = self::json(array(
            'id' => EventId::uuid4(),
            'kind' => self::DROPPED_KIND,
            'occurred_at' => EventId::rfc3339(microtime(true)),
            'vars' => array(
                'dropped' => $delta,
                'dropped_events' => (int) $state['dropped_events'],
                'reason' => (string) $state['last_drop_reason'],
                'last_drop_at' => $state['last_drop_at'],
            ),
            'context' => self::context(),
        ));
        return array('line' => $line, 'total' => (int) $state['dropped_events']);
    }

    /**
     * The status page's "Send test event": a heartbeat marked test=true, sent synchronously,
     * bypassing the breaker, never spooled. A heartbeat because every collector knows that kind.
     */
    public function sendTestEvent()
    {
        $line = $this->heartbeatLine(array('test' => true));
        $result = $this->sender()->send(array($line));
        if ($result->ok) {
            $this->state()->recordSuccess($result->accepted, $result->duplicates, $result->status);
            $this->breaker()->close();
        } else {
            $this->state()->recordError($result->error);
        }
        return $result;
    }

    /** @return array<string, string> */
    public static function context()
    {
        return array(
            'module_version' => Module::VERSION,
            'whmcs_version' => self::whmcsVersion(),
            'request' => self::requestKind(),
        );
    }

    public static function requestKind()
    {
        if (defined('ADMINAREA')) {
            return 'admin';
        }
        $script = isset($_SERVER['SCRIPT_NAME']) ? basename((string) $_SERVER['SCRIPT_NAME']) : '';
        if ($script === 'api.php') {
            return 'api';
        }
        if (PHP_SAPI === 'cli') {
            return 'cron';
        }
        return 'client';
    }

    public static function whmcsVersion()
    {
        static $version = null;
        if ($version !== null) {
            return $version;
        }
        $version = 'unknown';
        try {
            if (isset($GLOBALS['CONFIG']['Version']) && is_string($GLOBALS['CONFIG']['Version'])) {
                $version = $GLOBALS['CONFIG']['Version'];
            } elseif (class_exists('\\WHMCS\\Config\\Setting')) {
                $value = \WHMCS\Config\Setting::getValue('Version');
                if (is_string($value) && $value !== '') {
                    $version = $value;
                }
            }
        } catch (\Throwable $e) {
            $version = 'unknown';
        }
        return $version;
    }

    /** Count, and log once per request without any event data, an error we swallowed. */
    public static function internalError(\Throwable $e)
    {
        self::$internalErrors++;
        if (self::$internalErrors === 1) {
            error_log('whmcs_monitor: internal error (' . get_class($e) . ') at '
                . basename($e->getFile()) . ':' . $e->getLine() . '; the hook was not affected');
        }
    }

    public function config()
    {
        return $this->config;
    }

    public function catalog()
    {
        return $this->catalog;
    }

    public function spool()
    {
        if ($this->spool === null) {
            $dir = $this->config->spoolDir();
            $this->spool = new Spool($dir, $this->config->get('spool_max_bytes'), $this->state());
        }
        return $this->spool;
    }

    public function state()
    {
        if ($this->state === null) {
            $this->state = new State($this->config->spoolDir());
        }
        return $this->state;
    }

    public function breaker()
    {
        if ($this->breaker === null) {
            $this->breaker = new Breaker($this->config->spoolDir());
        }
        return $this->breaker;
    }

    private function sender()
    {
        if ($this->sender === null) {
            $this->sender = Sender::fromConfig($this->config);
        }
        return $this->sender;
    }

    private function redactor()
    {
        if ($this->redactor === null) {
            $this->redactor = Redactor::fromCatalog($this->catalog);
        }
        return $this->redactor;
    }
}
