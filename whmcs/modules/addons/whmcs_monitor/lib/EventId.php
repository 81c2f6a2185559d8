<?php
/**
 * Event ids and timestamps in the forms the ingest protocol expects.
 *
 * Ids are UUIDv4 from random_bytes(): unique across processes and hosts without coordination,
 * which is what makes spool replay idempotent (the collector dedups by id). Times are RFC 3339
 * in UTC with microseconds, taken when the hook fired, not when the batch was sent.
 */

namespace WhmcsMonitor;

final class EventId
{
    public static function uuid4()
    {
        $bytes = random_bytes(16);
        $bytes[6] = chr((ord($bytes[6]) & 0x0f) | 0x40);
        $bytes[8] = chr((ord($bytes[8]) & 0x3f) | 0x80);
        $hex = bin2hex($bytes);
        return substr($hex, 0, 8) . '-' . substr($hex, 8, 4) . '-' . substr($hex, 12, 4) . '-'
            . substr($hex, 16, 4) . '-' . substr($hex, 20, 12);
    }

    /** @param float $time seconds since the epoch, as from microtime(true) */
    public static function rfc3339($time)
    {
        $seconds = (int) floor($time);
        $micros = (int) round(($time - $seconds) * 1000000);
        if ($micros >= 1000000) {
            $seconds++;
            $micros -= 1000000;
        }
        return gmdate('Y-m-d\TH:i:s', $seconds) . sprintf('.%06dZ', $micros);
    }
}
