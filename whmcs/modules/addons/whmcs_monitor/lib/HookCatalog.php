<?php
/**
 * The hook list shipped in hooks.json, generated from the Python event catalog.
 *
 * The module never lists hooks by hand: hooks.json is the catalog's export
 * (`whmcs-monitor catalog --export-hooks`) and a Python test fails when the two differ. This
 * class reads it and answers which hooks to register for a site's settings: every hook whose
 * category is enabled, and opt-in (noisy) hooks only when the site names them.
 */

namespace WhmcsMonitor;

final class HookCatalog
{
    /** @var int */
    public $version;

    /** @var array<string, array{hook: string, kind: string, category: string, sensitive: string[], keep: array<string, string[]>, opt_in: bool}> hook => entry */
    public $hooks;

    /** @var array{keys: string[], key_prefixes: string[], key_fragments: string[]} */
    public $redaction;

    /**
     * @param array<string, mixed> $document the decoded hooks.json
     */
    public function __construct(array $document)
    {
        $this->version = isset($document['catalog_version']) ? (int) $document['catalog_version'] : 0;
        $redaction = isset($document['redaction']) && is_array($document['redaction']) ? $document['redaction'] : array();
        $this->redaction = array();
        foreach (array('keys', 'key_prefixes', 'key_fragments') as $list) {
            $this->redaction[$list] = isset($redaction[$list]) ? array_map('strval', (array) $redaction[$list]) : array();
        }
        $this->hooks = array();
        $entries = isset($document['hooks']) && is_array($document['hooks']) ? $document['hooks'] : array();
        foreach ($entries as $entry) {
            if (!is_array($entry) || !isset($entry['hook']) || !is_string($entry['hook'])) {
                continue;
            }
            $this->hooks[$entry['hook']] = array(
                'hook' => $entry['hook'],
                'kind' => isset($entry['kind']) ? (string) $entry['kind'] : '',
                'category' => isset($entry['category']) ? (string) $entry['category'] : '',
                'sensitive' => isset($entry['sensitive']) ? array_map('strval', (array) $entry['sensitive']) : array(),
                'keep' => isset($entry['keep']) && is_array($entry['keep']) ? $entry['keep'] : array(),
                'opt_in' => !empty($entry['opt_in']),
            );
        }
    }

    /** Read and decode hooks.json; a missing or broken file is an exception the caller reports. */
    public static function load($file)
    {
        $text = @file_get_contents($file);
        if ($text === false) {
            throw new \RuntimeException('cannot read ' . basename($file));
        }
        $document = json_decode($text, true);
        if (!is_array($document)) {
            throw new \RuntimeException(basename($file) . ' is not valid JSON');
        }
        return new self($document);
    }

    /**
     * The hook names to register for these settings.
     *
     * @param string[]|null $categories enabled category ids, null for all
     * @param string[]|null $optIn enabled opt-in hook names or kinds, null for all
     * @return string[]
     */
    public function selectHooks($categories, $optIn)
    {
        $selected = array();
        foreach ($this->hooks as $name => $entry) {
            if ($categories !== null && !in_array($entry['category'], $categories, true)) {
                continue;
            }
            if ($entry['opt_in'] && $optIn !== null
                && !in_array($name, $optIn, true) && !in_array($entry['kind'], $optIn, true)) {
                continue;
            }
            $selected[] = $name;
        }
        return $selected;
    }

    /** @return array<string, mixed>|null */
    public function entry($hook)
    {
        return isset($this->hooks[$hook]) ? $this->hooks[$hook] : null;
    }
}
