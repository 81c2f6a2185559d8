<?php
/**
 * What one POST to the collector came to.
 *
 * ok:        2xx; accepted/duplicates are the collector's counts.
 * permanent: the collector refused this batch for good (400, 413, 422...): sending it again
 *            would fail again, so it is set aside rather than retried forever.
 * deferred:  not sent (or cut short) because the flush ran out of time: the collector is not
 *            at fault, so the batch is spooled but the breaker stays closed.
 * otherwise: a transient failure (network, timeout, 5xx, 401/403 while a secret is being
 *            rotated, 429): the batch is spooled and the breaker opens.
 */

namespace WhmcsMonitor;

final class SendResult
{
    /** @var bool */
    public $ok = false;

    /** @var bool */
    public $permanent = false;

    /** @var bool */
    public $deferred = false;

    /** @var bool curl gave up waiting (connect or total timeout) */
    public $timedOut = false;

    /** @var string[] lines of the batch neither delivered nor set aside: the caller spools them */
    public $unsent = array();

    /** @var int HTTP status, 0 when no answer */
    public $status = 0;

    /** @var int */
    public $accepted = 0;

    /** @var int */
    public $duplicates = 0;

    /** @var string */
    public $error = '';

    /** @var string the response body, truncated, for the status page's test button */
    public $body = '';

    /** @var float seconds spent */
    public $seconds = 0.0;

    /** A batch the flush had no time left to send. */
    public static function deferred(array $lines)
    {
        $result = new self();
        $result->deferred = true;
        $result->error = 'the flush time budget was spent';
        $result->unsent = $lines;
        return $result;
    }
}
