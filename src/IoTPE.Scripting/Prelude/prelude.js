// IoTPE's script API, set up once per engine (one per account) before any script runs.
//
// This file is the body of `function (host, hostPublish, install) { ... }` (strict mode). `host` is the one bridge to
// the engine's host functions (IScriptHost, Interop/HostCallBridge.cs): host(name, argumentsArray)
// returns the host's answer, decoded from JSON, or throws the host's error. `hostPublish(topic,
// text, qos, retain)` is the same bridge for publish, the commonest call, without the arguments
// array and its JSON (the checked types: strings, a number, a boolean). Both are passed in as
// arguments and kept in the closures below: they are never on the global object, so no script can
// reach them except through the functions defined here. `install(name, value)` (ApiInstaller.cs)
// makes a value defined here part of the engine, read-only; it works only while this file runs.
//
// The .NET side of the bridge counts calls and publishes against the run's limits and checks
// argument sizes. This file gives each host function its JavaScript shape and checks argument
// types, so that mistakes end in a clear TypeError instead of a confusing host error.
// Function names and argument shapes: ScriptHostFunction.cs and README.md.
'use strict';

var global = globalThis;

// Built-ins used below, captured now: scripts run in this same global object and may replace
// the public ones.
var stringify = JSON.stringify;
var isArray = Array.isArray;
var keys = Object.keys;
var toText = String;
var ErrorType = Error;
var TypeErrorType = TypeError;

// Nothing beyond the documented surface. ShadowRealm is a proposal Node.js does not have; each
// instance is a whole new set of built-ins, i.e. memory for nothing a rule needs.
delete global.ShadowRealm;

// Jint's concat walks every index up to the result's length in one .NET loop that no time check
// interrupts: [].concat(a) with a[4294967294] = 1 would hold a worker for minutes. Refuse results
// longer than any array may be (the engine's MaxArraySize) before starting.
var MAX_ARRAY_LENGTH = 16777216;
var reflectApply = Reflect.apply;
var originalConcat = Array.prototype.concat;
function lengthOf(value) {
    if (value === null || (typeof value !== 'object' && typeof value !== 'function')) {
        return 1;
    }
    var length = +value.length;
    return length > 0 ? length : 1;
}
install('Array.prototype.concat', {
    concat: function (item) {
        var total = lengthOf(this);
        for (var i = 0; i < arguments.length; i++) {
            total += lengthOf(arguments[i]);
        }
        if (total > MAX_ARRAY_LENGTH) {
            throw new RangeError('Invalid array length');
        }
        return reflectApply(originalConcat, this, arguments);
    }
}.concat);

function fail(message) {
    throw new TypeErrorType(message);
}

function kindOf(value) {
    if (value === null) {
        return 'null';
    }
    if (isArray(value)) {
        return 'an array';
    }
    return typeof value;
}

function requireText(value, what) {
    if (typeof value !== 'string' || value.length === 0) {
        fail(what + ' must be a non-empty string, not ' + (value === '' ? 'an empty string' : kindOf(value)));
    }
    return value;
}

// publish(topic, payload, {qos, retain})
function publish(topic, payload, options) {
    requireText(topic, 'publish: topic');
    var text = payload;
    if (typeof payload !== 'string') {
        text = payload === undefined ? undefined : stringify(payload);
        if (text === undefined) {
            fail('publish: payload must be a string or a JSON-serializable value, not ' + kindOf(payload));
        }
    }
    var qos = 0;
    var retain = false;
    if (options !== undefined && options !== null) {
        if (typeof options !== 'object' || isArray(options)) {
            fail('publish: options must be an object like {qos: 1, retain: true}, not ' + kindOf(options));
        }
        var names = keys(options);
        for (var i = 0; i < names.length; i++) {
            var name = names[i];
            var value = options[name];
            if (name === 'qos') {
                if (value !== undefined && value !== 0 && value !== 1 && value !== 2) {
                    fail('publish: options.qos must be 0, 1 or 2');
                }
                qos = value === undefined ? 0 : value;
            } else if (name === 'retain') {
                if (value !== undefined && typeof value !== 'boolean') {
                    fail('publish: options.retain must be true or false');
                }
                retain = value === true;
            } else {
                fail('publish: unknown option "' + name + '" (the options are qos and retain)');
            }
        }
    }
    hostPublish(topic, text, qos, retain);
}

// SQL parameters: an array for positional ? parameters, an object for named ones.
function requireParameterValue(value, what) {
    var type = typeof value;
    if (value !== null && type !== 'boolean' && type !== 'number' && type !== 'string') {
        fail(what + ' must be null, a boolean, a number or a string, not ' + kindOf(value));
    }
}

function sqlParameters(fn, params) {
    if (params === undefined || params === null) {
        return [];
    }
    if (isArray(params)) {
        for (var i = 0; i < params.length; i++) {
            requireParameterValue(params[i], fn + ': parameter ' + (i + 1));
        }
        return params;
    }
    if (typeof params === 'object') {
        var names = keys(params);
        for (var j = 0; j < names.length; j++) {
            requireParameterValue(params[names[j]], fn + ': parameter "' + names[j] + '"');
        }
        return params;
    }
    fail(fn + ': params must be an array (for ? parameters) or an object (for :name parameters), not ' + kindOf(params));
}

var db = {
    query: function query(sql, params) {
        requireText(sql, 'db.query: sql');
        return host('db.query', [sql, sqlParameters('db.query', params)]);
    },
    exec: function exec(sql, params) {
        requireText(sql, 'db.exec: sql');
        return host('db.exec', [sql, sqlParameters('db.exec', params)]);
    }
};

var kv = {
    get: function get(key) {
        requireText(key, 'kv.get: key');
        return host('kv.get', [key]);
    },
    set: function set(key, value) {
        requireText(key, 'kv.set: key');
        var type = typeof value;
        if (value === undefined || type === 'function' || type === 'symbol') {
            fail('kv.set: value must be a JSON value (to delete a key, use kv.remove), not ' + type);
        }
        host('kv.set', [key, value]);
    },
    remove: function remove(key) {
        requireText(key, 'kv.remove: key');
        return host('kv.remove', [key]);
    }
};

// The gateway's pins that belong to the script's account (the host refuses every other name).
// Values are logical: 0 or 1 after active-low.
function pinValue(value) {
    if (value === true || value === 1) {
        return 1;
    }
    if (value === false || value === 0) {
        return 0;
    }
    fail('gpio.write: value must be 0, 1, true or false, not ' + (typeof value === 'number' ? toText(value) : kindOf(value)));
}

var gpio = {
    read: function read(name) {
        requireText(name, 'gpio.read: name');
        return host('gpio.read', [name]);
    },
    write: function write(name, value) {
        requireText(name, 'gpio.write: name');
        host('gpio.write', [name, pinValue(value)]);
    }
};

// log(...) joins its arguments as console.log does: strings as they are, other values as JSON
// where that reads well, else as their string form.
function formatValue(value) {
    var type = typeof value;
    if (type === 'string') {
        return value;
    }
    if (type === 'function') {
        return '[Function' + (value.name ? ': ' + value.name : '') + ']';
    }
    if (type === 'object' && value !== null && !(value instanceof ErrorType)) {
        try {
            var json = stringify(value);
            if (json !== undefined) {
                return json;
            }
        } catch (e) {
            // cyclic, or a toJSON that throws: fall back to the string form
        }
    }
    return toText(value);
}

function format(args) {
    var text = '';
    for (var i = 0; i < args.length; i++) {
        text += (i > 0 ? ' ' : '') + formatValue(args[i]);
    }
    return text;
}

function logger(level) {
    return function log() {
        host('log', [level, format(arguments)]);
    };
}

var console = {
    log: logger('info'),
    info: logger('info'),
    warn: logger('warn'),
    error: logger('error'),
    debug: logger('debug')
};

// Read-only, non-deletable globals, the objects frozen (by install): a script cannot replace the
// API for the scripts that run after it in the same engine.
install('publish', publish);
install('db', db);
install('kv', kv);
install('gpio', gpio);
install('log', logger('info'));
install('console', console);
