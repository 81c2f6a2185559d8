<?php
/**
 * Builds ingest request bodies from already-encoded event lines.
 *
 * Events are JSON-encoded once, when they leave the buffer; the same bytes go to the spool and,
 * joined here, into {"events":[...]}. Nothing is decoded and re-encoded on replay, so a spooled
 * event is sent exactly as it was first built. Batches stay under the collector's limits by
 * count and by bytes.
 */

namespace WhmcsMonitor;

final class Batch
{
    /** The collector's default ingest.max_events: one POST carries a whole request's events. */
    const MAX_EVENTS = 500;
    const MAX_BYTES = 524288;

    /** @param string[] $lines */
    public static function body(array $lines)
    {
        return '{"events":[' . implode(',', $lines) . ']}';
    }

    /**
     * The next batch from $lines starting at $offset: at least one event, then as many as fit.
     *
     * @param string[] $lines
     * @return string[]
     */
    public static function slice(array $lines, $offset, $maxEvents = self::MAX_EVENTS, $maxBytes = self::MAX_BYTES)
    {
        $batch = array();
        $bytes = 14;
        $total = count($lines);
        for ($i = $offset; $i < $total && count($batch) < $maxEvents; $i++) {
            $add = strlen($lines[$i]) + 1;
            if ($batch && $bytes + $add > $maxBytes) {
                break;
            }
            $batch[] = $lines[$i];
            $bytes += $add;
        }
        return $batch;
    }

    /**
     * Split all lines into consecutive batches.
     *
     * @param string[] $lines
     * @return string[][]
     */
    public static function split(array $lines, $maxEvents = self::MAX_EVENTS, $maxBytes = self::MAX_BYTES)
    {
        $batches = array();
        $offset = 0;
        $total = count($lines);
        while ($offset < $total) {
            $batch = self::slice($lines, $offset, $maxEvents, $maxBytes);
            $batches[] = $batch;
            $offset += count($batch);
        }
        return $batches;
    }
}
