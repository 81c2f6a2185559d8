<?php
/**
 * A small emulation of WHMCS for the module's tests: hook dispatch and a few model classes.
 *
 * add_hook/run_hook behave like WHMCS's: handlers run in ascending priority (registration order
 * breaks ties) and run_hook returns the non-null values the handlers returned. Unlike WHMCS, an
 * exception from a handler is NOT caught here, so a test sees any exception the module lets out.
 *
 * The model classes mimic Eloquent just enough to catch mistakes: getAttributes() returns raw
 * columns (including secrets, as the real ones do), while __get, toArray(), jsonSerialize() and
 * __toString() throw, because the module must never call them (magic __get can query the
 * database; the others dump every column).
 */

namespace WHMCS\Database {
    class Model implements \JsonSerializable
    {
        /** @var array<string, mixed> */
        protected $attributes;

        public function __construct(array $attributes)
        {
            $this->attributes = $attributes;
        }

        public function getAttributes()
        {
            return $this->attributes;
        }

        public function __get($name)
        {
            throw new \LogicException("magic __get('$name') would run a query");
        }

        public function toArray()
        {
            throw new \LogicException('toArray() dumps every column');
        }

        #[\ReturnTypeWillChange]
        public function jsonSerialize()
        {
            throw new \LogicException('jsonSerialize() dumps every column');
        }

        public function __toString()
        {
            throw new \LogicException('__toString() dumps the model');
        }
    }
}

namespace WHMCS\User {
    class User extends \WHMCS\Database\Model {}
    class Client extends \WHMCS\Database\Model {}
    class Admin extends \WHMCS\Database\Model {}
}

namespace WHMCS\Billing {
    class Invoice extends \WHMCS\Database\Model {}
}

namespace WHMCS\Service {
    class Service extends \WHMCS\Database\Model {}
    class Addon extends \WHMCS\Database\Model {}
}

namespace WHMCS\Domain {
    class Domain extends \WHMCS\Database\Model {}
}

namespace WHMCS\View\Formatter {
    class Price
    {
        private $amount;

        public function __construct($amount)
        {
            $this->amount = $amount;
        }

        public function toNumeric()
        {
            return $this->amount;
        }
    }
}

namespace Harness {
    /** An object that throws whatever the module does with it. */
    class Exploding implements \Countable
    {
        public function getAttributes()
        {
            throw new \RuntimeException('exploding getAttributes');
        }

        #[\ReturnTypeWillChange]
        public function count()
        {
            throw new \RuntimeException('exploding count');
        }
    }
}

namespace {
    if (!defined('WHMCS')) {
        define('WHMCS', true);
    }
    if (!defined('ROOTDIR')) {
        define('ROOTDIR', getenv('WHMCS_ROOT') ?: sys_get_temp_dir() . '/whmcs-root');
    }
    $GLOBALS['CONFIG'] = array('Version' => '8.13.1-release.1');
    $GLOBALS['__harness_hooks'] = array();
    $GLOBALS['__harness_seq'] = 0;

    function add_hook($name, $priority, $callback)
    {
        $GLOBALS['__harness_hooks'][$name][] = array((int) $priority, $GLOBALS['__harness_seq']++, $callback);
    }

    function run_hook($name, $vars)
    {
        $handlers = isset($GLOBALS['__harness_hooks'][$name]) ? $GLOBALS['__harness_hooks'][$name] : array();
        usort($handlers, function ($a, $b) {
            return $a[0] === $b[0] ? $a[1] - $b[1] : $a[0] - $b[0];
        });
        $results = array();
        foreach ($handlers as $handler) {
            $result = call_user_func($handler[2], $vars);
            if ($result !== null) {
                $results[] = $result;
            }
        }
        return $results;
    }

    /** Registered hook names, for assertions. */
    function harness_registered_hooks()
    {
        return array_keys($GLOBALS['__harness_hooks']);
    }

    /**
     * Turn scenario JSON into PHP values: {"__object__": class, "attributes": {...}} builds a
     * model, {"__object__": "WHMCS\\View\\Formatter\\Price", "amount": x} a Price.
     */
    function harness_materialize($value)
    {
        if (!is_array($value)) {
            return $value;
        }
        if (isset($value['__object__'])) {
            $class = $value['__object__'];
            if ($class === 'WHMCS\\View\\Formatter\\Price') {
                return new $class($value['amount']);
            }
            if ($class === 'Harness\\Exploding') {
                return new $class();
            }
            return new $class(isset($value['attributes']) ? $value['attributes'] : array());
        }
        foreach ($value as $key => $item) {
            $value[$key] = harness_materialize($item);
        }
        return $value;
    }
}
