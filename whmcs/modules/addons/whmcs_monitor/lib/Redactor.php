<?php
/**
 * Removes secrets from normalized $vars before anything leaves the request.
 *
 * Four layers, applied in this order, because each one covers what the previous may miss:
 *  1. keep:      the catalog's allow-list for arrays such as module/registrar `params`, whose
 *                other keys are registrar or server credentials we cannot enumerate: every key
 *                not listed is dropped.
 *  2. sensitive: the catalog's dotted $vars paths for this hook ("params.password"; "*" matches
 *                any key), replaced by a marker so an operator still sees the field existed.
 *  3. keys:      the catalog's generic key names, prefixes and fragments (redaction.keys,
 *                key_prefixes, key_fragments), at any depth, case-insensitive, '-' read as '_'.
 *  4. values:    Luhn-valid 13-19 digit card numbers and PEM private keys inside any string or
 *                key, wherever they hide (a ticket message, a gateway payload, a custom field),
 *                and card numbers sent as numbers.
 *
 * Rules 3 and 4 are the service's own (src/whmcs_monitor/events/redact.py); a test runs both on
 * the same inputs. Only the markers differ: the module's say what was removed.
 */

namespace WhmcsMonitor;

final class Redactor
{
    const MARK = '[REDACTED]';
    const CARD_MARK = '[REDACTED:card]';
    const KEY_MARK = '[REDACTED:private-key]';

    /** A run of 13+ digits, maybe split by single spaces or dashes: where card numbers can hide. */
    const DIGIT_RUN = '/[0-9](?:[ \-]?[0-9]){12,}/';

    /** Card numbers are written unbroken or in groups of 3-6 digits; only the last may be shorter. */
    const SHORTEST_GROUP = 3;

    /** A PEM or PGP private key block; an unterminated one (a truncated log line) runs to the end. */
    const PEM_PRIVATE_KEY = '/-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?:.*?-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|.*\z)/s';

    /**
     * Applied to a top-level `params` array when the catalog gives no `keep` rule for it.
     * Module and registrar `params` carry the module's own settings (registrar API keys, server
     * credentials) under names no list can foresee, so without a rule only these ids survive.
     */
    const DEFAULT_PARAMS_KEEP = array(
        'serviceid', 'userid', 'pid', 'serverid', 'addonid', 'domainid', 'producttype', 'moduletype',
        'domain', 'sld', 'tld', 'regperiod', 'registrar', 'serverip', 'serverhostname', 'status',
    );

    /** @var array<string, true> normalised key names (see normaliseKey) */
    private $keys = array();

    /** @var string[] normalised key prefixes */
    private $prefixes = array();

    /** @var string[] normalised fragments without '_': a key containing one is secret */
    private $fragments = array();

    /** @var array<string, bool> memo of key decisions; keys repeat a lot across events */
    private $memo = array();

    /**
     * @param string[] $keys
     * @param string[] $prefixes
     * @param string[] $fragments
     */
    public function __construct(array $keys, array $prefixes, array $fragments = array())
    {
        foreach ($keys as $key) {
            $this->keys[self::normaliseKey($key)] = true;
        }
        foreach ($prefixes as $prefix) {
            if ($prefix !== '') {
                $this->prefixes[] = self::normaliseKey($prefix);
            }
        }
        foreach ($fragments as $fragment) {
            $fragment = str_replace('_', '', self::normaliseKey($fragment));
            if ($fragment !== '') {
                $this->fragments[] = $fragment;
            }
        }
    }

    public static function fromCatalog(HookCatalog $catalog)
    {
        return new self(
            $catalog->redaction['keys'],
            $catalog->redaction['key_prefixes'],
            $catalog->redaction['key_fragments']
        );
    }

    /**
     * Keys are compared as the service compares them: case-insensitive, with '-' read as '_',
     * because the same secret arrives as api_key, API-Key or X-Api-Key depending on its source.
     */
    public static function normaliseKey($key)
    {
        return str_replace('-', '_', strtolower((string) $key));
    }

    /**
     * @param mixed $vars normalized vars (plain data)
     * @param string[] $sensitive dotted paths
     * @param array<string, string[]> $keep path => allowed sub-keys
     * @return mixed
     */
    public function redact($vars, array $sensitive = array(), array $keep = array())
    {
        if (is_array($vars)) {
            if (self::hasKey($vars, 'params') && !self::hasRuleFor($keep, 'params')) {
                $keep['params'] = self::DEFAULT_PARAMS_KEEP;
            }
            foreach ($keep as $path => $allowed) {
                $vars = self::applyAtPath($vars, self::splitPath((string) $path), function ($node) use ($allowed) {
                    if (!is_array($node)) {
                        return $node;
                    }
                    $allowed = array_map(array(self::class, 'normaliseKey'), (array) $allowed);
                    $kept = array();
                    foreach ($node as $key => $value) {
                        if (in_array(self::normaliseKey($key), $allowed, true)) {
                            $kept[$key] = $value;
                        }
                    }
                    return $kept;
                });
            }
            foreach ($sensitive as $path) {
                $vars = self::applyAtPath($vars, self::splitPath((string) $path), function ($node) {
                    return self::MARK;
                });
            }
        }
        return $this->walk($vars);
    }

    /**
     * True when a key name is secret by the catalog's generic rules: an exact key, a prefix
     * (cardtype), or a fragment anywhere once '_' is taken out (smtp_password, FTPBackupPassword,
     * client_secret), so secrets under names no list foresees are still caught.
     */
    public function isSecretKey($key)
    {
        $key = (string) $key;
        if (isset($this->memo[$key])) {
            return $this->memo[$key];
        }
        $name = self::normaliseKey($key);
        $secret = isset($this->keys[$name]) || self::startsWithAny($name, $this->prefixes)
            || self::containsAny(str_replace('_', '', $name), $this->fragments);
        if (count($this->memo) < 4096) {
            $this->memo[$key] = $secret;
        }
        return $secret;
    }

    /** @param string[] $prefixes */
    private static function startsWithAny($name, array $prefixes)
    {
        foreach ($prefixes as $prefix) {
            if (strncmp($name, $prefix, strlen($prefix)) === 0) {
                return true;
            }
        }
        return false;
    }

    /** @param string[] $fragments */
    private static function containsAny($name, array $fragments)
    {
        foreach ($fragments as $fragment) {
            if (strpos($name, $fragment) !== false) {
                return true;
            }
        }
        return false;
    }

    /** @return mixed */
    private function walk($value)
    {
        if (is_array($value)) {
            $out = array();
            foreach ($value as $key => $item) {
                if (is_string($key) && $this->isSecretKey($key)) {
                    $out[self::scrubKey($key)] = self::MARK;
                } else {
                    $out[self::scrubKey($key)] = $this->walk($item);
                }
            }
            return $out;
        }
        if (is_string($value)) {
            return self::scrubString($value);
        }
        if ((is_int($value) || is_float($value)) && self::isCardNumber($value)) {
            return self::CARD_MARK;
        }
        return $value;
    }

    /**
     * A key can hold a card number too (a gateway payload keyed by card). PHP turns a numeric
     * string key into an int, so an int key is checked as a number.
     *
     * @param int|string $key
     * @return int|string
     */
    private static function scrubKey($key)
    {
        if (is_int($key)) {
            return self::isCardNumber($key) ? self::CARD_MARK : $key;
        }
        return self::scrubString($key);
    }

    /**
     * A card number sent as a JSON number: 13-19 digits, a whole number, Luhn-valid. Most numbers
     * are far below 13 digits, so one comparison settles them.
     *
     * @param int|float $number
     */
    public static function isCardNumber($number)
    {
        if ($number > -1e12 && $number < 1e12) {
            return false;
        }
        if (is_float($number)) {
            if (!is_finite($number) || floor($number) != $number || abs($number) >= 1e19) {
                return false;
            }
            return self::luhn(sprintf('%.0f', abs($number)));
        }
        return self::luhn(ltrim((string) $number, '-'));
    }

    /**
     * Replace card numbers and PEM private keys inside free text.
     *
     * The same rules as the service's redact_text (src/whmcs_monitor/events/redact.py), so what
     * the module lets through is what the service would keep anyway: a run of 13+ digits,
     * possibly split by single spaces or dashes, is searched for card numbers (see cardSpans).
     */
    public static function scrubString($text)
    {
        if (strlen($text) < 13) {
            return $text;
        }
        if (strpos($text, '-----BEGIN') !== false) {
            $text = (string) preg_replace(self::PEM_PRIVATE_KEY, self::KEY_MARK, $text);
        }
        if (preg_match_all(self::DIGIT_RUN, $text, $runs, PREG_OFFSET_CAPTURE)) {
            $text = self::redactCards($text, $runs[0]);
        }
        return $text;
    }

    /**
     * @param array<int, array{0: string, 1: int}> $runs digit runs and their byte offsets
     */
    private static function redactCards($text, array $runs)
    {
        $out = '';
        $position = 0;
        foreach ($runs as $run) {
            foreach (self::mergeSpans(self::cardSpans($run[0])) as $span) {
                $out .= substr($text, $position, $run[1] + $span[0] - $position) . self::CARD_MARK;
                $position = $run[1] + $span[1];
            }
        }
        return $position === 0 ? $text : $out . substr($text, $position);
    }

    /**
     * Spans in a digit run covering each Luhn-valid card number written inside it: consecutive
     * digit groups joined by one kind of separator (all spaces, all dashes, or one unbroken
     * group), 13-19 digits in all, every group of at least three digits but the last. Every
     * sub-span is tried, so digits before or after a card ("qty 2 4111...", "... 1111 12/25")
     * do not hide it.
     *
     * @return array<int, array{0: int, 1: int}> [start, end) byte offsets, by start
     */
    private static function cardSpans($run)
    {
        preg_match_all('/[0-9]+/', $run, $matches, PREG_OFFSET_CAPTURE);
        $groups = array();
        foreach ($matches[0] as $match) {
            $groups[] = array($match[1], $match[1] + strlen($match[0]));
        }
        $count = count($groups);
        $spans = array();
        for ($first = 0; $first < $count; $first++) {
            if ($groups[$first][1] - $groups[$first][0] < self::SHORTEST_GROUP) {
                continue;
            }
            $separator = '';
            $digits = '';
            for ($last = $first; $last < $count; $last++) {
                list($start, $end) = $groups[$last];
                if ($last > $first) {
                    $between = substr($run, $groups[$last - 1][1], $start - $groups[$last - 1][1]);
                    if (strlen($between) !== 1 || ($last > $first + 1 && $between !== $separator)) {
                        break;
                    }
                    $separator = $between;
                }
                $digits .= substr($run, $start, $end - $start);
                if (strlen($digits) > 19) {
                    break;
                }
                if (strlen($digits) >= 13 && self::luhn($digits)) {
                    $spans[] = array($groups[$first][0], $end);
                }
                if ($end - $start < self::SHORTEST_GROUP) {
                    break; // a short group ends a card number
                }
            }
        }
        return $spans;
    }

    /**
     * @param array<int, array{0: int, 1: int}> $spans sorted by start
     * @return array<int, array{0: int, 1: int}>
     */
    private static function mergeSpans(array $spans)
    {
        $merged = array();
        foreach ($spans as $span) {
            $last = count($merged) - 1;
            if ($last >= 0 && $span[0] <= $merged[$last][1]) {
                $merged[$last][1] = max($merged[$last][1], $span[1]);
            } else {
                $merged[] = $span;
            }
        }
        return $merged;
    }

    /** The Luhn checksum over a string of 13 to 19 digits. */
    public static function luhn($digits)
    {
        $n = strlen($digits);
        if ($n < 13 || $n > 19 || !ctype_digit($digits)) {
            return false;
        }
        $sum = 0;
        $double = false;
        for ($i = $n - 1; $i >= 0; $i--) {
            $d = ord($digits[$i]) - 48;
            if ($double) {
                $d *= 2;
                if ($d > 9) {
                    $d -= 9;
                }
            }
            $sum += $d;
            $double = !$double;
        }
        return $sum % 10 === 0;
    }

    /** @param array<mixed> $vars */
    private static function hasKey(array $vars, $name)
    {
        foreach ($vars as $key => $unused) {
            if (self::normaliseKey($key) === self::normaliseKey($name)) {
                return true;
            }
        }
        return false;
    }

    /** @param array<string, mixed> $keep */
    private static function hasRuleFor(array $keep, $root)
    {
        foreach (array_keys($keep) as $path) {
            $first = explode('.', trim((string) $path, '.'))[0];
            if (self::normaliseKey($first) === self::normaliseKey($root)) {
                return true;
            }
        }
        return false;
    }

    /** @return string[] */
    private static function splitPath($path)
    {
        $path = trim($path, '.');
        return $path === '' ? array() : explode('.', $path);
    }

    /**
     * Apply $fn to every node the path reaches ("*" fans out over all keys). Keys are matched
     * normalised (normaliseKey) because WHMCS is inconsistent (OrderID vs orderid).
     *
     * @param array<mixed> $data
     * @param string[] $segments
     * @return mixed
     */
    private static function applyAtPath($data, array $segments, $fn)
    {
        if (!$segments) {
            return $fn($data);
        }
        if (!is_array($data)) {
            return $data;
        }
        $head = array_shift($segments);
        foreach ($data as $key => $value) {
            if ($head === '*' || self::normaliseKey($key) === self::normaliseKey($head)) {
                $data[$key] = self::applyAtPath($value, $segments, $fn);
            }
        }
        return $data;
    }
}
