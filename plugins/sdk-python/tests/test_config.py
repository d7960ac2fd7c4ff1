"""Configuration parsing: every problem names its JSON path."""

import enum
from dataclasses import dataclass, field
from typing import Any, Literal, Optional, TypedDict, Union

import pytest

from tollgate_plugin import ConfigError, parse_config


@dataclass
class Range:
    min: Optional[int] = None
    max: Optional[int] = None

    def __post_init__(self):
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")


class Per(enum.Enum):
    PRODUCT = "product"
    SERVICE_TYPE = "service_type"


@dataclass
class Config:
    max_days: int
    products: dict[str, Range] = field(default_factory=dict)
    tiers: list[Range] = field(default_factory=list)
    per: Per = Per.SERVICE_TYPE
    mode: Literal["strict", "lenient"] = "strict"
    ratio: float = 1.0
    note: Union[int, str, None] = None


class Limits(TypedDict, total=False):
    min: int
    max: int


class Required(TypedDict):
    name: str


def error(text, schema):
    with pytest.raises(ConfigError) as caught:
        parse_config(text, schema)
    return caught.value.path, caught.value.message


def test_a_valid_config_becomes_the_authors_types():
    c = parse_config(
        '{"max_days": 30, "products": {"cb": {"min": 3}}, "tiers": [{"max": 9}], "per": "product", "ratio": 2}', Config
    )
    assert c == Config(30, {"cb": Range(3, None)}, [Range(None, 9)], Per.PRODUCT, "strict", 2.0)
    assert isinstance(c.ratio, float)


def test_paths_name_the_field_the_index_and_quoted_keys():
    assert error('{"max_days": 1, "products": {"cb": {"min": "3"}}}', Config) == (
        "$.products.cb.min", 'expected an integer, got a string ("3")')
    assert error('{"max_days": 1, "tiers": [{}, {"max": true}]}', Config)[0] == "$.tiers[1].max"
    assert error('{"max_days": 1, "products": {"a key": {"min": 1.5}}}', Config)[0] == '$.products["a key"].min'


def test_typos_and_missing_fields_are_refused():
    assert error('{"max_days": 1, "produts": {}}', Config) == (
        "$", 'unknown field "produts"; expected one of: max_days, products, tiers, per, mode, ratio, note')
    assert error("{}", Config) == ("$", 'missing field "max_days"')


def test_post_init_refusals_name_the_object():
    assert error('{"max_days": 1, "products": {"cb": {"min": 5, "max": 1}}}', Config) == (
        "$.products.cb", "min 5 is above max 1")


def test_enums_literals_and_unions():
    assert error('{"max_days": 1, "per": "everything"}', Config)[1] == (
        'expected "product" or "service_type", got a string ("everything")')
    assert error('{"max_days": 1, "mode": "loose"}', Config)[0] == "$.mode"
    assert parse_config('{"max_days": 1, "note": "x"}', Config).note == "x"
    assert error('{"max_days": 1, "note": []}', Config)[0] == "$.note"


def test_booleans_are_not_integers():
    assert error('{"max_days": true}', Config)[1] == "expected an integer, got a boolean"


def test_typed_dicts_keep_dicts():
    assert parse_config('{"min": 1}', Limits) == {"min": 1}
    assert error('{"mim": 1}', Limits)[1].startswith('unknown field "mim"')
    assert error("{}", Required) == ("$", 'missing field "name"')


def test_without_a_schema_any_object_is_a_dict():
    assert parse_config('{"a": [1]}') == {"a": [1]}
    assert parse_config("  ") == {}
    assert error("[1]", None) == ("$", "expected a JSON object, got an array")


def test_invalid_json_says_where():
    path, message = error('{"max_days": }', Config)
    assert path == "$" and message.startswith("not valid JSON") and "column 14" in message


def test_any_accepts_everything():
    @dataclass
    class Loose:
        extra: Any = None

    assert parse_config('{"extra": {"deep": [1, "x"]}}', Loose).extra == {"deep": [1, "x"]}


def test_unsupported_types_fail_when_declared():
    with pytest.raises(TypeError, match="cannot read a configuration into"):
        parse_config("{}", set[int])
