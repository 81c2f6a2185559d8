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
 *  3. keys:      the catalog's generic key names and prefixes, case-insensitive, at any depth.
 *  4. values:    Luhn-valid 13-19 digit card numbers and PEM private keys inside any string,
 *                wherever they hide (a ticket message, a gateway payload, a custom field).
 */

namespace WhmcsMonitor;

final class Redactor
{
    const MARK = '[REDACTED]';
    const CARD_MARK = '[REDACTED:card]';
    const KEY_MARK = '[REDACTED:private-key]';

    /**
     * Applied to a top-level `params` array when the catalog gives no `keep` rule for it.
     * Module and registrar `params` carry the module's own settings (registrar API keys, server
     * credentials) under names no list can foresee, so without a rule only these ids survive.
     */
    const DEFAULT_PARAMS_KEEP = array(
        'serviceid', 'userid', 'pid', 'serverid', 'addonid', 'domainid', 'producttype', 'moduletype',
        'domain', 'sld', 'tld', 'regperiod', 'registrar', 'serverip', 'serverhostname', 'status',
    );

    /** @var array<string, true> lower-cased key names */
    private $keys = array();

    /** @var string[] lower-cased key prefixes */
    private $prefixes = array();

    /** @var array<string, bool> memo of key decisions; keys repeat a lot across events */
    private $memo = array();

    /**
     * @param string[] $keys
     * @param string[] $prefixes
     */
    public function __construct(array $keys, array $prefixes)
    {
        foreach ($keys as $key) {
            $this->keys[strtolower($key)] = true;
        }
        foreach ($prefixes as $prefix) {
            if ($prefix !== '') {
                $this->prefixes[] = strtolower($prefix);
            }
        }
    }

    public static function fromCatalog(HookCatalog $catalog)
    {
        return new self($catalog->redaction['keys'], $catalog->redaction['key_prefixes']);
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
                    $allowed = array_map('strtolower', array_map('strval', (array) $allowed));
                    $kept = array();
                    foreach ($node as $key => $value) {
                        if (in_array(strtolower((string) $key), $allowed, true)) {
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

    /** True when a key name is secret by the generic list. */
    public function isSecretKey($key)
    {
        $key = strtolower((string) $key);
        if (isset($this->memo[$key])) {
            return $this->memo[$key];
        }
        $secret = isset($this->keys[$key]);
        if (!$secret) {
            foreach ($this->prefixes as $prefix) {
                if (strncmp($key, $prefix, strlen($prefix)) === 0) {
                    $secret = true;
                    break;
                }
            }
        }
        if (count($this->memo) < 4096) {
            $this->memo[$key] = $secret;
        }
        return $secret;
    }

    /** @return mixed */
    private function walk($value)
    {
        if (is_array($value)) {
            foreach ($value as $key => $item) {
                if (is_string($key) && $this->isSecretKey($key)) {
                    $value[$key] = ($item === null || $item === '') ? $item : self::MARK;
                } else {
                    $value[$key] = $this->walk($item);
                }
            }
            return $value;
        }
        if (is_string($value)) {
            return self::scrubString($value);
        }
        if (is_int($value) && ($value >= 1000000000000 || $value <= -1000000000000)) {
            return self::luhn((string) abs($value)) ? self::CARD_MARK : $value;
        }
        return $value;
    }

    /** Replace card numbers and PEM private keys inside free text. */
    public static function scrubString($text)
    {
        $length = strlen($text);
        if ($length >= 13 && preg_match('/\d{4}/', $text)) {
            $text = (string) preg_replace_callback(
                '/(?<![\d])\d(?:[ \-]?\d){12,18}(?![\d])/',
                function ($match) {
                    $digits = preg_replace('/\D/', '', $match[0]);
                    return self::luhn($digits) ? self::CARD_MARK : $match[0];
                },
                $text
            );
        }
        if ($length > 40 && strpos($text, 'PRIVATE KEY') !== false) {
            $text = (string) preg_replace(
                '/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/s',
                self::KEY_MARK,
                $text
            );
        }
        return $text;
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
            if (strcasecmp((string) $key, $name) === 0) {
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
            if (strcasecmp($first, $root) === 0) {
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
     * Apply $fn to every node the path reaches ("*" fans out over all keys). Key matching is
     * case-insensitive because WHMCS is inconsistent (OrderID vs orderid).
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
            if ($head === '*' || strcasecmp((string) $key, $head) === 0) {
                $data[$key] = self::applyAtPath($value, $segments, $fn);
            }
        }
        return $data;
    }
}
