<?php
/**
 * Wires the module into WHMCS: boots the forwarder and registers one handler per hook.
 *
 * Called from hooks.php on every WHMCS request, so it does the least it can: read the config
 * (env and config.php; the database only if those are incomplete), decode hooks.json, and call
 * add_hook once per selected hook. An unconfigured module registers nothing.
 */

namespace WhmcsMonitor;

final class Module
{
    const VERSION = '0.1.0';

    /**
     * Hooks run in ascending priority. 1 puts us early: we only observe, and running before
     * other hooks means a later hook that exits or dies cannot hide the event from us.
     */
    const PRIORITY = 1;

    /**
     * @param callable|null $addHook WHMCS's add_hook; injectable for tests
     * @param callable|null $dbLoader see Config::load
     * @return Forwarder|null
     */
    public static function boot($moduleDir, $addHook = null, $dbLoader = null)
    {
        $config = Config::load($moduleDir, $dbLoader);
        if (!$config->isComplete()) {
            return null;
        }
        $catalog = HookCatalog::load($moduleDir . '/hooks.json');
        $forwarder = new Forwarder($config, $catalog);
        Forwarder::setInstance($forwarder);

        $addHook = $addHook !== null ? $addHook : 'add_hook';
        $hooks = $catalog->selectHooks($config->categories(), $config->optInHooks());
        foreach ($hooks as $hook) {
            call_user_func($addHook, $hook, self::PRIORITY, self::handler($hook));
        }
        $forwarder->hooksRegistered = count($hooks);
        // Cron upkeep (heartbeat, spool replay) runs whether or not AfterCronJob is forwarded.
        call_user_func($addHook, 'AfterCronJob', self::PRIORITY + 1, static function ($vars = array()) {
            Forwarder::handleCron();
        });
        return $forwarder;
    }

    /**
     * One closure per hook. It returns nothing: for hooks whose return value WHMCS acts on
     * (PreModuleCreate's abortcmd, ClientAreaPage's template vars...), null means "no opinion".
     */
    public static function handler($hook)
    {
        return static function ($vars = array()) use ($hook) {
            Forwarder::handle($hook, $vars);
        };
    }
}
