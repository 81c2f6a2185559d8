<?php
/**
 * Signs and POSTs one batch to the collector's ingest endpoint with strict timeouts.
 *
 * The protocol (shared/ARCHITECTURE.md): POST /api/v1/ingest, body {"events": [...]}, headers
 * X-WHMCS-Monitor-Site, X-WHMCS-Monitor-Timestamp (unix seconds) and X-WHMCS-Monitor-Signature
 * "sha256=" + hex HMAC-SHA256 of "<timestamp>.<raw body>" keyed with the site secret.
 *
 * curl gets a connect timeout of at most 300 ms and a total of at most 2 s, because this runs in
 * a PHP worker that is needed for the next request; a slow collector must cost little, and the
 * circuit breaker makes sure it costs that only once a minute.
 */

namespace WhmcsMonitor;

final class Sender
{
    /** @var string */
    private $url;

    /** @var string */
    private $siteId;

    /** @var string */
    private $secret;

    /** @var int */
    private $connectTimeoutMs;

    /** @var int */
    private $timeoutMs;

    public function __construct($url, $siteId, $secret, $connectTimeoutMs, $timeoutMs)
    {
        $this->url = $url;
        $this->siteId = $siteId;
        $this->secret = $secret;
        $this->connectTimeoutMs = min(Config::MAX_CONNECT_TIMEOUT_MS, (int) $connectTimeoutMs);
        $this->timeoutMs = min(Config::MAX_TIMEOUT_MS, (int) $timeoutMs);
    }

    public static function fromConfig(Config $config)
    {
        return new self(
            $config->ingestUrl(),
            $config->get('site_id'),
            $config->get('secret'),
            $config->get('connect_timeout_ms'),
            $config->get('timeout_ms')
        );
    }

    /** The signature header value for a body sent at $timestamp. */
    public static function sign($secret, $timestamp, $body)
    {
        return 'sha256=' . hash_hmac('sha256', $timestamp . '.' . $body, $secret);
    }

    /**
     * @param string[] $lines encoded events
     * @param int|null $timeoutMs a shorter total timeout, when the caller's time budget is short
     */
    public function send(array $lines, $timeoutMs = null)
    {
        return $this->post(Batch::body($lines), $timeoutMs);
    }

    /** @return SendResult */
    public function post($body, $timeoutMs = null)
    {
        $timeoutMs = $timeoutMs === null ? $this->timeoutMs : max(1, min($this->timeoutMs, (int) $timeoutMs));
        $result = new SendResult();
        $started = microtime(true);
        if (!function_exists('curl_init')) {
            $result->error = 'the PHP curl extension is not installed';
            return $result;
        }
        $timestamp = (string) time();
        $handle = curl_init($this->url);
        curl_setopt_array($handle, array(
            CURLOPT_POST => true,
            CURLOPT_POSTFIELDS => $body,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_HEADER => false,
            CURLOPT_NOSIGNAL => true, // required for sub-second timeouts with the threaded resolver off
            CURLOPT_CONNECTTIMEOUT_MS => min($this->connectTimeoutMs, $timeoutMs),
            CURLOPT_TIMEOUT_MS => $timeoutMs,
            CURLOPT_FOLLOWLOCATION => false,
            CURLOPT_PROTOCOLS => CURLPROTO_HTTP | CURLPROTO_HTTPS,
            CURLOPT_SSL_VERIFYPEER => true,
            CURLOPT_SSL_VERIFYHOST => 2,
            CURLOPT_USERAGENT => 'whmcs-monitor-module/' . Module::VERSION,
            CURLOPT_HTTPHEADER => array(
                'Content-Type: application/json',
                'Expect:', // no 100-continue round trip
                'X-WHMCS-Monitor-Site: ' . $this->siteId,
                'X-WHMCS-Monitor-Timestamp: ' . $timestamp,
                'X-WHMCS-Monitor-Signature: ' . self::sign($this->secret, $timestamp, $body),
            ),
        ));
        $response = curl_exec($handle);
        $result->status = (int) curl_getinfo($handle, CURLINFO_RESPONSE_CODE);
        if ($response === false) {
            $result->error = 'curl error ' . curl_errno($handle) . ': ' . curl_error($handle);
            $result->timedOut = curl_errno($handle) === CURLE_OPERATION_TIMEDOUT;
            $result->status = 0;
        }
        curl_close($handle);
        $result->seconds = microtime(true) - $started;
        if ($response === false) {
            return $result;
        }
        $result->body = substr((string) $response, 0, 2000);
        $status = $result->status;
        if ($status >= 200 && $status < 300) {
            $result->ok = true;
            $decoded = json_decode((string) $response, true);
            if (is_array($decoded)) {
                $result->accepted = isset($decoded['accepted']) ? (int) $decoded['accepted'] : 0;
                $result->duplicates = isset($decoded['duplicates']) ? (int) $decoded['duplicates'] : 0;
            }
            return $result;
        }
        $result->error = 'HTTP ' . $status . ': ' . substr(preg_replace('/\s+/', ' ', (string) $response), 0, 300);
        // Only answers that say "this batch itself is wrong" are permanent. Everything else
        // (5xx, 401/403 during a secret rotation, 404 or a redirect from a wrong URL, 429) is
        // a problem that an operator or time fixes, so the batch waits in the spool.
        $result->permanent = in_array($status, array(400, 413, 415, 422), true);
        return $result;
    }
}
