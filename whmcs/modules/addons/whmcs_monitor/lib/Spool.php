<?php
/**
 * A bounded, ordered, crash-safe queue of events that could not be sent: JSON lines on disk.
 *
 * Files in the spool directory (0700; every file 0600 because events are personal data):
 *   spool.jsonl         new failures are appended here under flock(LOCK_EX), one event a line
 *   spool.replay.jsonl  the batch a replayer has taken over; it is always older than spool.jsonl
 *   replay.lock         held (non-blocking) by the one process replaying, so replays never overlap
 *   rejected.jsonl      events the collector refused for good (4xx other than auth), kept for
 *                       inspection instead of being dropped silently
 *
 * Replay never holds the append lock while it waits on the network: it renames spool.jsonl to
 * spool.replay.jsonl (one atomic step under the lock) and sends from there. If it dies midway,
 * the replay file is still there and the next replay starts with it, so order is kept and
 * nothing is lost; events already sent are sent again, which is harmless because the
 * collector dedups by event id.
 *
 * The size cap covers both files. What does not fit is counted in the state's dropped_events
 * (reported on the status page and in every heartbeat), never discarded silently.
 */

namespace WhmcsMonitor;

final class Spool
{
    const FILE = 'spool.jsonl';
    const REPLAY_FILE = 'spool.replay.jsonl';
    const LOCK_FILE = 'replay.lock';
    const REJECTED_FILE = 'rejected.jsonl';

    /** @var string */
    private $dir;

    /** @var int */
    private $maxBytes;

    /** @var State */
    private $state;

    public function __construct($dir, $maxBytes, State $state)
    {
        $this->dir = $dir;
        $this->maxBytes = (int) $maxBytes;
        $this->state = $state;
    }

    public function dir()
    {
        return $this->dir;
    }

    /** Create the directory (0700) if needed; false when it cannot be written. */
    public static function ensureDir($dir)
    {
        if (!is_dir($dir)) {
            $old = umask(0077);
            @mkdir($dir, 0700, true);
            umask($old);
        }
        return is_dir($dir) && is_writable($dir);
    }

    /**
     * Append encoded events in order. Returns how many were written; the rest are counted as
     * dropped (cap reached or disk unusable).
     *
     * @param string[] $lines one JSON-encoded event each, without newline
     */
    public function append(array $lines, $reason = 'spool full')
    {
        if (!$lines) {
            return 0;
        }
        $written = 0;
        if (self::ensureDir($this->dir)) {
            $handle = $this->openLockedForAppend();
            if ($handle !== false) {
                $fileSize = fstat($handle)['size'];
                $size = $this->bytes();
                $chunk = '';
                foreach ($lines as $line) {
                    $add = strlen($line) + 1;
                    if ($size + $add > $this->maxBytes) {
                        break;
                    }
                    $chunk .= $line . "\n";
                    $size += $add;
                    $written++;
                }
                if ($chunk !== '' && !self::writeWhole($handle, $chunk, $fileSize)) {
                    $written = 0;
                    $reason = 'spool write failed';
                }
                @fflush($handle);
                flock($handle, LOCK_UN);
                fclose($handle);
            } else {
                $reason = 'spool not writable';
            }
        } else {
            $reason = 'spool directory not writable';
        }
        $dropped = count($lines) - $written;
        if ($dropped > 0) {
            $this->state->recordDropped($dropped, $reason);
        }
        return $written;
    }

    /**
     * Send spooled events in order, in batches, until the spool is empty, a send fails, or the
     * time budget is spent.
     *
     * @param callable $send function(string[] $lines): SendResult
     * @return array{sent: int, rejected: int, failed: bool, skipped: bool}
     */
    public function replay($send, $batchSize, $maxBatchBytes, $timeBudget)
    {
        $report = array('sent' => 0, 'rejected' => 0, 'failed' => false, 'skipped' => false);
        if (!is_dir($this->dir) || !$this->hasAnything()) {
            return $report;
        }
        $lock = self::open($this->dir . '/' . self::LOCK_FILE, 'c');
        if ($lock === false || !flock($lock, LOCK_EX | LOCK_NB)) {
            $report['skipped'] = true; // someone else is replaying
            if ($lock !== false) {
                fclose($lock);
            }
            return $report;
        }
        $deadline = microtime(true) + $timeBudget;
        $replayFile = $this->dir . '/' . self::REPLAY_FILE;
        try {
            while (microtime(true) < $deadline) {
                if (!is_file($replayFile) && !$this->takeOver($replayFile)) {
                    break; // nothing left
                }
                $lines = self::readLines($replayFile);
                $offset = 0;
                $total = count($lines);
                while ($offset < $total) {
                    $batch = Batch::slice($lines, $offset, $batchSize, $maxBatchBytes);
                    $result = call_user_func($send, $batch);
                    if ($result->ok) {
                        $report['sent'] += count($batch);
                    } elseif ($result->permanent) {
                        $this->reject($batch, $result->error);
                        $report['rejected'] += count($batch);
                    } else {
                        $report['failed'] = true;
                    }
                    if (!$report['failed']) {
                        $offset += count($batch);
                    }
                    if ($report['failed'] || microtime(true) >= $deadline) {
                        break;
                    }
                }
                if ($offset >= $total) {
                    @unlink($replayFile);
                } else {
                    self::rewrite($replayFile, array_slice($lines, $offset));
                }
                if ($report['failed']) {
                    break;
                }
            }
        } finally {
            flock($lock, LOCK_UN);
            fclose($lock);
        }
        return $report;
    }

    /** Number of events waiting (both files). Counts newlines, so it is exact and cheap enough. */
    public function depth()
    {
        $count = 0;
        foreach (array(self::REPLAY_FILE, self::FILE) as $name) {
            $path = $this->dir . '/' . $name;
            if (!is_file($path)) {
                continue;
            }
            $handle = @fopen($path, 'rb');
            if ($handle === false) {
                continue;
            }
            while (!feof($handle)) {
                $count += substr_count((string) fread($handle, 1048576), "\n");
            }
            fclose($handle);
        }
        return $count;
    }

    /** Bytes held by both spool files. */
    public function bytes()
    {
        $size = 0;
        foreach (array(self::REPLAY_FILE, self::FILE) as $name) {
            $path = $this->dir . '/' . $name;
            if (is_file($path)) {
                $size += (int) @filesize($path);
            }
        }
        return $size;
    }

    private function hasAnything()
    {
        clearstatcache();
        return $this->bytes() > 0;
    }

    /**
     * Open spool.jsonl for appending with the lock held, making sure the locked file is still the
     * one at that path: a replayer may have renamed it between our fopen and our flock, and a
     * line written to the renamed file after it was read would be lost.
     *
     * @return resource|false
     */
    private function openLockedForAppend()
    {
        $path = $this->dir . '/' . self::FILE;
        for ($attempt = 0; $attempt < 5; $attempt++) {
            $handle = self::open($path, 'ab');
            if ($handle === false) {
                return false;
            }
            if (!flock($handle, LOCK_EX)) {
                fclose($handle);
                return false;
            }
            clearstatcache();
            $open = fstat($handle);
            $current = @stat($path);
            if ($current !== false && $open['ino'] === $current['ino'] && $open['dev'] === $current['dev']) {
                return $handle;
            }
            flock($handle, LOCK_UN);
            fclose($handle);
        }
        return false;
    }

    /** Atomically move spool.jsonl aside for replay; false when there is nothing to take. */
    private function takeOver($replayFile)
    {
        $path = $this->dir . '/' . self::FILE;
        $handle = self::open($path, 'ab');
        if ($handle === false) {
            return false;
        }
        $taken = false;
        if (flock($handle, LOCK_EX)) {
            clearstatcache();
            if ((int) @filesize($path) > 0) {
                $taken = @rename($path, $replayFile);
            }
            flock($handle, LOCK_UN);
        }
        fclose($handle);
        return $taken;
    }

    /** @param string[] $batch */
    public function reject(array $batch, $error)
    {
        $handle = self::ensureDir($this->dir) ? self::open($this->dir . '/' . self::REJECTED_FILE, 'ab') : false;
        if ($handle !== false && flock($handle, LOCK_EX)) {
            $size = fstat($handle)['size'];
            if ($size < $this->maxBytes) {
                self::writeWhole($handle, implode("\n", $batch) . "\n", $size);
            }
            flock($handle, LOCK_UN);
        }
        if ($handle !== false) {
            fclose($handle);
        }
        $this->state->recordRejected(count($batch), $error);
    }

    /**
     * Write all of $data at the handle's position, or leave the file $size bytes long. A short
     * write (a full disk) would leave a torn line that the next append is glued onto, losing that
     * event too. The warning PHP raises for it is handled here: it must not reach WHMCS's error
     * handler.
     *
     * @param resource $handle
     */
    public static function writeWhole($handle, $data, $size)
    {
        if (@fwrite($handle, $data) === strlen($data)) {
            return true;
        }
        @ftruncate($handle, $size);
        return false;
    }

    /** @return string[] complete lines; a torn last line (crash mid-write) is skipped */
    private static function readLines($path)
    {
        $text = @file_get_contents($path);
        if ($text === false || $text === '') {
            return array();
        }
        $lines = explode("\n", $text);
        array_pop($lines); // after the last "\n": empty, or a torn partial line
        $out = array();
        foreach ($lines as $line) {
            if ($line !== '') {
                $out[] = $line;
            }
        }
        return $out;
    }

    /** @param string[] $lines */
    private static function rewrite($path, array $lines)
    {
        $tmp = $path . '.tmp';
        $text = $lines ? implode("\n", $lines) . "\n" : '';
        $old = umask(0077);
        $ok = @file_put_contents($tmp, $text) === strlen($text);
        umask($old);
        if ($ok) {
            @chmod($tmp, 0600);
            @rename($tmp, $path);
        } else {
            @unlink($tmp); // the old file stays: its sent lines are sent again, and deduplicated
        }
    }

    /** fopen with umask 0077 so a new file is created 0600 from the first byte. */
    private static function open($path, $mode)
    {
        $old = umask(0077);
        $handle = @fopen($path, $mode);
        umask($old);
        if ($handle !== false) {
            @chmod($path, 0600);
        }
        return $handle;
    }
}
