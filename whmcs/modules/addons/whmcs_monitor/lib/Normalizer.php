<?php
/**
 * Turns hook $vars into plain, bounded JSON-able data, never dumping an object.
 *
 * WHMCS passes Eloquent models (User, Client, Invoice, Service, Domain, Admin...) and helpers
 * (Price, Collection, DateTime) in $vars. Their toArray()/__toString()/print_r would expose
 * hashed passwords, 2FA secrets, card tokens, and magic __get can run database queries. So an
 * object becomes {"_class": short name} plus an allow-list of raw column values read with
 * getAttributes() (no accessors, no relations, no queries): ids and non-secret scalars only.
 *
 * The walk is bounded: depth, items per array and string length are capped so one odd hook
 * cannot make an event huge or slow.
 *
 * NUL bytes in strings and keys become U+FFFD (as invalid UTF-8 does when the event is encoded):
 * the collector refuses "\u0000", since no database text column can hold it, and the whole
 * event would be lost over one byte.
 */

namespace WhmcsMonitor;

final class Normalizer
{
    const MAX_DEPTH = 8;
    const MAX_ITEMS = 200;
    const MAX_STRING = 8192;
    const NUL_REPLACEMENT = "\u{FFFD}";

    /** Columns that are safe to forward, per WHMCS model (matched on the short class name). */
    const FIELDS = array(
        'User' => array('id', 'email', 'language', 'last_login', 'email_verified_at', 'created_at', 'updated_at'),
        'Client' => array('id', 'uuid', 'status', 'groupid', 'currency', 'language', 'country', 'email_verified', 'datecreated', 'lastlogin', 'created_at', 'updated_at'),
        'Contact' => array('id', 'userid', 'created_at', 'updated_at'),
        'Admin' => array('id', 'uuid', 'username', 'roleid', 'disabled', 'created_at', 'updated_at'),
        'Invoice' => array('id', 'userid', 'invoicenum', 'date', 'duedate', 'datepaid', 'last_capture_attempt', 'date_refunded', 'date_cancelled', 'subtotal', 'credit', 'tax', 'tax2', 'total', 'taxrate', 'taxrate2', 'status', 'paymentmethod', 'created_at', 'updated_at'),
        'Item' => array('id', 'invoiceid', 'userid', 'type', 'relid', 'amount', 'taxed', 'duedate', 'paymentmethod'),
        'Service' => array('id', 'userid', 'orderid', 'packageid', 'server', 'regdate', 'domain', 'paymentmethod', 'amount', 'firstpaymentamount', 'billingcycle', 'nextduedate', 'nextinvoicedate', 'termination_date', 'domainstatus', 'suspendreason', 'created_at', 'updated_at'),
        'Addon' => array('id', 'orderid', 'hostingid', 'addonid', 'userid', 'server', 'status', 'regdate', 'nextduedate', 'billingcycle', 'termination_date'),
        'Domain' => array('id', 'userid', 'orderid', 'type', 'registrationdate', 'domain', 'registrar', 'registrationperiod', 'expirydate', 'status', 'nextduedate', 'donotrenew', 'idprotection', 'dnsmanagement', 'is_premium', 'created_at', 'updated_at'),
        'Order' => array('id', 'ordernum', 'userid', 'contactid', 'date', 'amount', 'paymentmethod', 'invoiceid', 'status', 'fraudmodule', 'created_at', 'updated_at'),
        'Quote' => array('id', 'userid', 'stage', 'validuntil', 'total', 'datecreated', 'lastmodified', 'dateaccepted'),
        'Ticket' => array('id', 'tid', 'did', 'userid', 'contactid', 'date', 'status', 'urgency', 'flag', 'lastreply', 'merged_ticket_id'),
        'Server' => array('id', 'name', 'hostname', 'ipaddress', 'type', 'active', 'disabled', 'maxaccounts'),
        'Product' => array('id', 'gid', 'type', 'name', 'servertype', 'paytype', 'hidden', 'retired'),
        'Task' => array('id', 'name', 'class_name', 'priority', 'is_enabled', 'is_periodic', 'frequency'),
        'Transaction' => array('id', 'userid', 'currency', 'gateway', 'date', 'amountin', 'fees', 'amountout', 'rate', 'invoiceid', 'refundid'),
    );

    /** For an unknown model: the ids and status columns any WHMCS table may carry. */
    const GENERIC_FIELDS = array('id', 'uuid', 'userid', 'user_id', 'client_id', 'clientid', 'invoiceid', 'orderid', 'serviceid', 'domainid', 'status', 'type', 'created_at', 'updated_at');

    /**
     * @param mixed $value
     * @return mixed plain data: null, bool, int, float, string or array thereof
     */
    public static function value($value, $depth = 0)
    {
        if ($value === null || is_bool($value) || is_int($value)) {
            return $value;
        }
        if (is_float($value)) {
            return is_finite($value) ? $value : (string) $value;
        }
        if (is_string($value)) {
            $value = self::withoutNul($value);
            return strlen($value) > self::MAX_STRING ? substr($value, 0, self::MAX_STRING) . '...[truncated]' : $value;
        }
        if ($depth >= self::MAX_DEPTH) {
            return '[depth limit]';
        }
        if (is_array($value)) {
            $out = array();
            $count = 0;
            foreach ($value as $key => $item) {
                if (++$count > self::MAX_ITEMS) {
                    $out['_truncated_items'] = count($value) - self::MAX_ITEMS;
                    break;
                }
                $out[is_string($key) ? self::withoutNul($key) : $key] = self::value($item, $depth + 1);
            }
            return $out;
        }
        if (is_object($value)) {
            return self::object($value, $depth);
        }
        return '[' . gettype($value) . ']';
    }

    private static function withoutNul($text)
    {
        return strpos($text, "\0") === false ? $text : str_replace("\0", self::NUL_REPLACEMENT, $text);
    }

    /**
     * A safe snapshot of one object. An object that throws while being read (a half-loaded
     * model, a hostile __get) becomes just its class name.
     *
     * @return array<string, mixed>|string
     */
    public static function object($object, $depth = 0)
    {
        try {
            return self::readObject($object, $depth);
        } catch (\Throwable $e) {
            $class = get_class($object);
            $short = ($pos = strrpos($class, '\\')) === false ? $class : substr($class, $pos + 1);
            return array('_class' => $short, '_unreadable' => true);
        }
    }

    /** @return array<string, mixed>|string */
    private static function readObject($object, $depth)
    {
        $class = get_class($object);
        $short = ($pos = strrpos($class, '\\')) === false ? $class : substr($class, $pos + 1);

        if ($object instanceof \DateTimeInterface) {
            return $object->format('Y-m-d\TH:i:sP');
        }
        if ($object instanceof \Closure) {
            return '[closure]';
        }
        if ($short === 'Price' && method_exists($object, 'toNumeric')) {
            return array('_class' => 'Price', 'amount' => self::value($object->toNumeric(), $depth + 1));
        }
        if ($object instanceof \Countable && !method_exists($object, 'getAttributes')) {
            // Collections: their size and, for models inside, their ids only.
            $out = array('_class' => $short, 'count' => count($object));
            if ($object instanceof \Traversable) {
                $ids = array();
                foreach ($object as $item) {
                    if (count($ids) >= 50) {
                        break;
                    }
                    if (is_object($item) && method_exists($item, 'getAttributes')) {
                        $attributes = $item->getAttributes();
                        if (isset($attributes['id']) && is_scalar($attributes['id'])) {
                            $ids[] = $attributes['id'];
                        }
                    }
                }
                if ($ids) {
                    $out['ids'] = $ids;
                }
            }
            return $out;
        }

        $out = array('_class' => $short);
        if (method_exists($object, 'getAttributes')) {
            $attributes = $object->getAttributes();
            $fields = array_key_exists($short, self::FIELDS) ? self::FIELDS[$short] : self::GENERIC_FIELDS;
            foreach ($fields as $field) {
                if (array_key_exists($field, $attributes) && (is_scalar($attributes[$field]) || $attributes[$field] === null)) {
                    $out[$field] = self::value($attributes[$field], $depth + 1);
                } elseif (array_key_exists($field, $attributes) && $attributes[$field] instanceof \DateTimeInterface) {
                    $out[$field] = $attributes[$field]->format('Y-m-d\TH:i:sP');
                }
            }
            return $out;
        }
        // Anything else: a public id if it has one, nothing more.
        $public = get_object_vars($object);
        if (isset($public['id']) && is_scalar($public['id'])) {
            $out['id'] = $public['id'];
        } elseif (method_exists($object, 'getId')) {
            $id = $object->getId();
            if (is_scalar($id)) {
                $out['id'] = $id;
            }
        }
        return $out;
    }
}
