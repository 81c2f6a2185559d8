<?php
/**
 * What one POST to the collector came to.
 *
 * ok:        2xx; accepted/duplicates are the collector's counts.
 * permanent: the collector refused this batch for good (400, 413, 422...): sending it again
 *            would fail again, so it is set aside rather than retried forever.
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
}
