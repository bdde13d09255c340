"""Variations: configs attached to a draft or committed experiment."""

from __future__ import annotations

import json
from typing import Any

from methodic_fake import machines
from methodic_fake.auth import Principal
from methodic_fake.errors import BadRequest
from methodic_fake.jsonlimits import check_json
from methodic_fake.models import Variation, new_id
from methodic_fake.registry import Registry

MAX_CONFIG_BYTES = 1024 * 1024


def parse_config_yaml(text: str) -> dict[str, Any]:
    """YAML -> JSON object; 400 when invalid, hostile, too large or not a mapping.

    `safe_load` never constructs arbitrary objects. The structure is checked before
    it is converted (self-referencing aliases and alias bombs are stopped by depth
    and node limits), then a JSON round trip turns the YAML-only types it can
    produce (dates, non-string keys) into JSON values.
    """
    import yaml  # deferred: only YAML variations need it, and it slows server start

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise BadRequest(f"config_yaml is not valid YAML: {exc}") from None
    except RecursionError:
        raise BadRequest("config_yaml is not valid YAML: nested too deeply") from None
    if not isinstance(data, dict):
        raise BadRequest(f"config_yaml must be a YAML mapping, not {type(data).__name__}")
    try:
        check_json(data)
        encoded = json.dumps(data, default=str)
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"config_yaml is not acceptable: it {exc}") from None
    if len(encoded) > MAX_CONFIG_BYTES:
        raise BadRequest(f"config_yaml is too large: over {MAX_CONFIG_BYTES} bytes as JSON")
    parsed: dict[str, Any] = json.loads(encoded)
    return parsed


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
        self, experiment_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> dict[str, Any]:
        with self._reg.transaction():
            self._reg.get(self._reg.experiments, "experiment", experiment_id)
            items = (v for v in self._reg.variations.values() if v.experiment_id == experiment_id)
            return self._reg.cursors.page(("variations", experiment_id), items, limit, cursor)
