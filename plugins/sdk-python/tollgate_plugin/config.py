"""Binding configuration: JSON text parsed into the author's type, or a
`ConfigError` naming the JSON path of the problem.

Supported types: dataclasses and TypedDicts (unknown keys are refused, so a
typo is caught when the binding is saved), `dict[str, T]`, `list[T]`,
`T | None`, unions, `Literal[...]`, enums (by value), `int`, `float`, `str`,
`bool`, `Any`. A dataclass's `__post_init__` may raise `ValueError` to refuse
a value; the error names that object's path.

Converters are compiled once per type, when the hook is declared, so inside a
component that work is part of the build-time snapshot, not of every call.
"""

import dataclasses
import enum
import json
import re
import types
import typing
from typing import Any, Callable

# A converter takes the JSON value and its path, a tuple of keys and indexes
# that is only formatted when something is wrong.
Converter = Callable[[Any, tuple], Any]


class ConfigError(Exception):
    """The binding's configuration cannot be used: `path` is a JSON path such
    as `$.products.cb_basic.min` (`$` for the whole document)."""

    def __init__(self, path: "str | tuple", message: str):
        path = path if isinstance(path, str) else _json_path(path)
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def _json_path(segments: tuple) -> str:
    """`$.products.cb_basic.min`, `$.tiers[2]`, `$["a key"]`."""
    out = "$"
    for s in segments:
        if isinstance(s, int):
            out += f"[{s}]"
        else:
            out += f".{s}" if _KEY.match(s) else f"[{json.dumps(s)}]"
    return out


def parse_config(text: str, schema: Any = None) -> Any:
    """Parse `text` (empty means `{}`) into `schema`; without a schema any
    JSON object is accepted and returned as a dict."""
    try:
        value = json.loads(text.strip() or "{}")
    except json.JSONDecodeError as e:
        raise ConfigError("$", f"not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    return converter(schema)(value, ())


def converter(schema: Any) -> Converter:
    """The converter for `schema` (cached: every type is compiled once)."""
    if schema is None:
        return _any_object
    found = _CACHE.get(schema)
    if found is None:
        found = _compile(schema)
        _CACHE[schema] = found
    return found


_CACHE: dict = {}
_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"a number ({json.dumps(value)})"
    if isinstance(value, str):
        return f"a string ({json.dumps(value)})"
    return "an array" if isinstance(value, list) else "an object"


def _any_object(value: Any, path: tuple) -> Any:
    if not isinstance(value, dict):
        raise ConfigError(path, f"expected a JSON object, got {_describe(value)}")
    return value


def _compile(schema: Any) -> Converter:
    origin = typing.get_origin(schema)
    args = typing.get_args(schema)
    if schema is Any or schema is object:
        return lambda value, path: value
    if schema is type(None):
        return _scalar(lambda v: v is None, "null", lambda v: v)
    if schema is bool:
        return _scalar(lambda v: isinstance(v, bool), "true or false", lambda v: v)
    if schema is int:
        return _scalar(_is_integer, "an integer", int)
    if schema is float:
        return _scalar(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool), "a number", float)
    if schema is str:
        return _scalar(lambda v: isinstance(v, str), "a string", lambda v: v)
    if origin is typing.Literal:
        return _literal(args)
    if origin in (typing.Union, types.UnionType):
        return _union(args)
    if origin in (list, typing.List) or schema is list:
        return _list(converter(args[0]) if args else converter(Any))
    if origin in (dict, typing.Dict) or schema is dict:
        return _dict(converter(args[1]) if args else converter(Any))
    if isinstance(schema, type) and issubclass(schema, enum.Enum):
        return _enum(schema)
    if dataclasses.is_dataclass(schema):
        return _dataclass(schema)
    if typing.is_typeddict(schema):
        return _typeddict(schema)
    raise TypeError(f"tollgate_plugin cannot read a configuration into {schema!r}")


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _scalar(accepts: Callable[[Any], bool], expected: str, convert: Callable[[Any], Any]) -> Converter:
    def run(value, path):
        if not accepts(value):
            raise ConfigError(path, f"expected {expected}, got {_describe(value)}")
        return convert(value)

    return run


def _literal(choices: tuple) -> Converter:
    wanted = " or ".join(json.dumps(c) for c in choices)

    def run(value, path):
        # `True == 1` in Python: compare types too, as JSON does.
        if not any(value == c and type(value) is type(c) for c in choices):
            raise ConfigError(path, f"expected {wanted}, got {_describe(value)}")
        return value

    return run


def _union(options: tuple) -> Converter:
    if type(None) in options and len(options) == 2:
        inner = converter(next(o for o in options if o is not type(None)))
        return lambda value, path: None if value is None else inner(value, path)
    converters = [converter(o) for o in options]

    def run(value, path):
        errors = []
        for convert in converters:
            try:
                return convert(value, path)
            except ConfigError as e:
                errors.append(e)
        # The error that got deepest is the most specific one.
        raise max(errors, key=lambda e: len(e.path))

    return run


def _list(item: Converter) -> Converter:
    def run(value, path):
        if not isinstance(value, list):
            raise ConfigError(path, f"expected an array, got {_describe(value)}")
        return [item(v, (*path, i)) for i, v in enumerate(value)]

    return run


def _dict(item: Converter) -> Converter:
    def run(value, path):
        if not isinstance(value, dict):
            raise ConfigError(path, f"expected an object, got {_describe(value)}")
        return {k: item(v, (*path, k)) for k, v in value.items()}

    return run


def _enum(schema: type) -> Converter:
    wanted = " or ".join(json.dumps(m.value) for m in schema)

    def run(value, path):
        for member in schema:
            if member.value == value and type(member.value) is type(value):
                return member
        raise ConfigError(path, f"expected {wanted}, got {_describe(value)}")

    return run


def _fields(names: list, hints: dict, required: set) -> Callable:
    """Shared by dataclasses and TypedDicts: check keys, convert values."""
    converters = {name: converter(hints[name]) for name in names}
    known = ", ".join(names)

    def read(value, path):
        if not isinstance(value, dict):
            raise ConfigError(path, f"expected an object, got {_describe(value)}")
        for key in value:
            if key not in converters:
                raise ConfigError(path, f"unknown field {json.dumps(key)}; expected one of: {known}")
        for name in names:
            if name in required and name not in value:
                raise ConfigError(path, f"missing field {json.dumps(name)}")
        return {k: converters[k](v, (*path, k)) for k, v in value.items()}

    return read


def _dataclass(schema: type) -> Converter:
    fields = [f for f in dataclasses.fields(schema) if f.init]
    hints = typing.get_type_hints(schema)
    required = {
        f.name
        for f in fields
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    read = _fields([f.name for f in fields], hints, required)

    def run(value, path):
        kwargs = read(value, path)
        try:
            return schema(**kwargs)
        except (ValueError, TypeError) as e:
            raise ConfigError(path, str(e)) from None

    return run


def _typeddict(schema: type) -> Converter:
    hints = typing.get_type_hints(schema)
    return _fields(list(hints), hints, set(schema.__required_keys__))
