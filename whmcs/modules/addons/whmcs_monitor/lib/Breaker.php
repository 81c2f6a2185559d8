<?php
/**
 * A circuit breaker shared by every PHP process of the site: breaker.json in the spool dir.
 *
 * When a send fails, the breaker opens for 60 s. While it is open, flushes go straight to the
 * spool without touching the network, so an unreachable collector costs each site at most one
 * connect timeout per window instead of one per request. After the window the next flush tries
 * again (half-open); a success closes the breaker, a failure opens it for another window.
 */

namespace WhmcsMonitor;

final class Breaker
{
    const FILE = 'breaker.json';
    const WINDOW_SECONDS = 60;

    /** @var string */
    private $path;

    /** @var array<string, mixed>|null read once per request */
    private $cached;

    public function __construct($dir)
    {
        $this->path = $dir . '/' . self::FILE;
    }

    /** True while sends must be skipped. */
    public function isOpen($now = null)
    {
        $state = $this->state();
        $now = $now === null ? microtime(true) : $now;
        return isset($state['open_until']) && $now < (float) $state['open_until'];
    }

    /** @return array<string, mixed> {open_until?, opened_at?, reason?, trips?} */
    public function state()
    {
        if ($this->cached === null) {
            $text = @file_get_contents($this->path);
            $data = $text === false ? null : json_decode($text, true);
            $this->cached = is_array($data) ? $data : array();
        }
        return $this->cached;
    }

    public function trip($reason)
    {
        $previous = $this->state();
        $now = microtime(true);
        $this->write(array(
            'open_until' => $now + self::WINDOW_SECONDS,
            'opened_at' => $now,
            'reason' => substr((string) $reason, 0, 300),
            'trips' => (isset($previous['trips']) ? (int) $previous['trips'] : 0) + 1,
        ));
    }

    public function close()
    {
        if ($this->state() !== array()) {
            @unlink($this->path);
        }
        $this->cached = array();
    }

    /** @param array<string, mixed> $data */
    private function write(array $data)
    {
        $this->cached = $data;
        if (!Spool::ensureDir(dirname($this->path))) {
            return;
        }
        $tmp = $this->path . '.' . getmypid() . '.tmp';
        $old = umask(0077);
        $ok = @file_put_contents($tmp, json_encode($data)) !== false;
        umask($old);
        if ($ok) {
            @rename($tmp, $this->path);
        }
    }
}
