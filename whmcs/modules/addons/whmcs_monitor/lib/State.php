<?php
/**
 * Small persistent facts shared by every PHP process of the site: state.json in the spool dir.
 *
 * It holds what the status page and the heartbeat report: the last successful send, the last
 * error, and the dropped/rejected counters. Counters are read-modify-written under flock so that
 * concurrent PHP-FPM workers never lose an increment; the file is 0600 like the spool.
 */

namespace WhmcsMonitor;

final class State
{
    const FILE = 'state.json';

    /** @var string */
    private $path;

    public function __construct($dir)
    {
        $this->path = $dir . '/' . self::FILE;
    }

    /** @return array<string, mixed> */
    public function read()
    {
        $text = @file_get_contents($this->path);
        $data = $text === false ? null : json_decode($text, true);
        return array_merge(self::blank(), is_array($data) ? $data : array());
    }

    public function recordSuccess($accepted, $duplicates, $status)
    {
        $this->update(function (array $s) use ($accepted, $duplicates, $status) {
            $s['last_success_at'] = gmdate('Y-m-d\TH:i:s\Z');
            $s['last_success_status'] = (int) $status;
            $s['last_accepted'] = (int) $accepted;
            $s['last_duplicates'] = (int) $duplicates;
            $s['sent_events'] += (int) $accepted + (int) $duplicates;
            return $s;
        });
    }

    public function recordError($message)
    {
        $this->update(function (array $s) use ($message) {
            $s['last_error_at'] = gmdate('Y-m-d\TH:i:s\Z');
            $s['last_error'] = substr((string) $message, 0, 500);
            return $s;
        });
    }

    public function recordDropped($count, $reason)
    {
        $written = $this->update(function (array $s) use ($count, $reason) {
            $s['dropped_events'] += (int) $count;
            $s['last_drop_at'] = gmdate('Y-m-d\TH:i:s\Z');
            $s['last_drop_reason'] = (string) $reason;
            return $s;
        });
        if (!$written) {
            // Even the counter cannot be stored: say so in the PHP error log (counts only, no data).
            error_log(sprintf('whmcs_monitor: %d event(s) dropped (%s); state file not writable', $count, $reason));
        }
    }

    /** The dropped total already announced with a forwarder.spool_dropped event. */
    public function markDroppedReported($total)
    {
        $this->update(function (array $s) use ($total) {
            $s['dropped_reported'] = max((int) $s['dropped_reported'], (int) $total);
            return $s;
        });
    }

    public function recordRejected($count, $error)
    {
        $this->update(function (array $s) use ($count, $error) {
            $s['rejected_events'] += (int) $count;
            $s['last_error_at'] = gmdate('Y-m-d\TH:i:s\Z');
            $s['last_error'] = 'rejected by collector: ' . substr((string) $error, 0, 400);
            return $s;
        });
    }

    /** @return array<string, mixed> */
    private static function blank()
    {
        return array(
            'last_success_at' => null,
            'last_success_status' => null,
            'last_accepted' => 0,
            'last_duplicates' => 0,
            'last_error_at' => null,
            'last_error' => null,
            'sent_events' => 0,
            'dropped_events' => 0,
            'dropped_reported' => 0,
            'last_drop_at' => null,
            'last_drop_reason' => null,
            'rejected_events' => 0,
        );
    }

    /** @param callable $change function(array): array */
    private function update($change)
    {
        if (!Spool::ensureDir(dirname($this->path))) {
            return false;
        }
        $old = umask(0077);
        $handle = @fopen($this->path, 'c+');
        umask($old);
        if ($handle === false) {
            return false;
        }
        $ok = false;
        if (flock($handle, LOCK_EX)) {
            $text = stream_get_contents($handle);
            $data = $text ? json_decode($text, true) : null;
            $state = call_user_func($change, array_merge(self::blank(), is_array($data) ? $data : array()));
            $json = (string) json_encode($state, JSON_UNESCAPED_SLASHES | JSON_PRETTY_PRINT);
            $ok = self::overwrite($handle, $json, (string) $text);
            @fflush($handle);
            flock($handle, LOCK_UN);
        }
        fclose($handle);
        @chmod($this->path, 0600);
        return $ok;
    }

    /**
     * Replace the file's content with $json; when the disk is full, put $old back (its bytes are
     * already on disk, so that fits) rather than leave half a JSON document and lose every counter.
     *
     * @param resource $handle
     */
    private static function overwrite($handle, $json, $old)
    {
        rewind($handle);
        if (Spool::writeWhole($handle, $json, strlen($old))) {
            return ftruncate($handle, strlen($json));
        }
        rewind($handle);
        Spool::writeWhole($handle, $old, strlen($old));
        return false;
    }
}
