"""Variations: configs attached to a draft or committed experiment."""

from __future__ import annotations

import datetime
import json
from typing import Any

from methodic_fake import machines
from methodic_fake.auth import Principal
from methodic_fake.errors import BadRequest
from methodic_fake.jsonlimits import check_integer, check_json
from methodic_fake.models import Variation, new_id
from methodic_fake.pagination import DEFAULT_ORDER, Order
from methodic_fake.registry import Registry

MAX_CONFIG_BYTES = 1024 * 1024


def parse_config_yaml(text: str) -> dict[str, Any]:
    """YAML -> JSON object; 400 when invalid, hostile, too large or not a mapping.

    `safe_load` never constructs arbitrary objects. The structure is checked before
    it is converted (self-referencing aliases and alias bombs are stopped by depth
    and node limits), then `_jsonable` turns the YAML-only types it can produce
    (dates, non-string keys) into JSON values, or refuses what JSON cannot hold.
    """
    import yaml  # deferred: only YAML variations need it, and it slows server start

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise BadRequest(f"config_yaml is not valid YAML: {exc}") from None
    except RecursionError:
        raise BadRequest("config_yaml is not valid YAML: nested too deeply") from None
    except (ValueError, TypeError, OverflowError) as exc:
        # PyYAML's constructors call int() and date() on scalars that merely look
        # right: a 5,000-digit integer or `2020-13-45` fails there, not in the parser.
        raise BadRequest(f"config_yaml has a value that cannot be read: {_short(exc)}") from None
    if not isinstance(data, dict):
        raise BadRequest(f"config_yaml must be a YAML mapping, not {type(data).__name__}")
    try:
        check_json(data)
        converted = _jsonable(data)
        encoded = json.dumps(converted)
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"config_yaml is not acceptable: it {exc}") from None
    if len(encoded) > MAX_CONFIG_BYTES:
        raise BadRequest(f"config_yaml is too large: over {MAX_CONFIG_BYTES} bytes as JSON")
    assert isinstance(converted, dict)
    return converted


def _short(exc: BaseException, limit: int = 200) -> str:
    text = str(exc)
    return text if len(text) <= limit else text[:limit] + "..."


def _json_key(key: Any) -> str:
    """A mapping key as JSON spells it: what `json.dumps` does for numbers and bools."""
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, (bool, int, float)):
        return json.dumps(key)  # checked by _jsonable first: never a too-long integer
    if isinstance(key, (datetime.date, datetime.datetime)):
        return str(key)  # the same form a date takes as a value
    if isinstance(key, bytes):
        raise ValueError("has a binary (!!binary) key, which JSON cannot hold")
    raise ValueError(f"has a {type(key).__name__} key, which JSON cannot hold")


def _jsonable(value: Any) -> Any:
    """`value` with YAML-only types made JSON; ValueError naming what cannot be.

    Recursion is bounded: `check_json` has already limited depth and size.
    """
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, child in value.items():
            if isinstance(key, int) and not isinstance(key, bool):
                check_integer(key)
            name = _json_key(key)
            if name in out:
                raise ValueError(f"has two keys that both become {name!r} in JSON")
            out[name] = _jsonable(child)
        return out
    if isinstance(value, (list, tuple)):
        return [_jsonable(child) for child in value]
    if isinstance(value, bytes):
        raise ValueError("has binary (!!binary) data, which JSON cannot hold")
    if isinstance(value, (datetime.date, datetime.datetime)):
        return str(value)
    return value


class VariationService:
    """Variation creation (from YAML or JSON) and reads."""

    def __init__(self, registry: Registry) -> None:
        self._reg = registry

    def create(
        self,
        principal: Principal,
        experiment_id: str,
        *,
        name: str | None = None,
        config_yaml: str | None = None,
        config_json: dict[str, Any] | None = None,
        accelerate_config_json: dict[str, Any] | None = None,
        launch_config: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        principal.require_researcher("create variations")
        if (config_yaml is None) == (config_json is None):
            raise BadRequest("exactly one of config_yaml or config_json is required")
        config = parse_config_yaml(config_yaml) if config_yaml is not None else config_json
        assert config is not None
        with self._reg.transaction() as now:
            exp = self._reg.get(self._reg.experiments, "experiment", experiment_id)
            machines.apply("experiment", "create a variation for", exp.id, exp.state)
            variation = Variation(
                id=new_id(),
                created_at=now,
                seq=self._reg.next_seq(),
                experiment_id=exp.id,
                name=name,
                config_yaml=config_yaml,
                config_json=config,
                accelerate_config_json=accelerate_config_json,
                launch_config=launch_config,
            )
            self._reg.save(variation)
            return variation.wire()

    def get(self, variation_id: str) -> dict[str, Any]:
        with self._reg.transaction():
            return self._reg.get(self._reg.variations, "variation", variation_id).wire()

    def list(
        self,
        experiment_id: str,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        order: Order = DEFAULT_ORDER,
    ) -> dict[str, Any]:
        with self._reg.transaction():
            self._reg.get(self._reg.experiments, "experiment", experiment_id)
            items = (v for v in self._reg.variations.values() if v.experiment_id == experiment_id)
            return self._reg.cursors.page(
                ("variations", experiment_id), items, limit, cursor, order
            )
