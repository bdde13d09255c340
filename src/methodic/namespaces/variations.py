"""``chronicle.variations``: the configurations an experiment runs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from methodic.namespaces._base import Namespace, Order
from methodic.types import Page, Variation

__all__ = ["Variations"]


class Variations(Namespace):
    """Variations of an experiment.

    A dict ``config`` is sent as YAML, so Chronicle keeps the text too:

        v = chronicle.variations.create(exp_id, config={"lr": 3e-4}, name="low-lr")
        v.config_json["lr"]  # 0.0003
    """

    def create(
        self,
        experiment_id: str,
        *,
        config_yaml: str | None = None,
        config_json: Mapping[str, Any] | None = None,
        config: Mapping[str, Any] | None = None,
        name: str | None = None,
        accelerate_config_json: Mapping[str, Any] | None = None,
        launch_config: Mapping[str, Any] | None = None,
    ) -> Variation:
        """Add a variation. Pass exactly one of ``config_yaml``, ``config_json``, ``config``.

        ``config`` is a dict sent as YAML text, so the server keeps the YAML too.
        """
        given = [
            n
            for n, v in (
                ("config_yaml", config_yaml),
                ("config_json", config_json),
                ("config", config),
            )
            if v is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "pass exactly one of config_yaml, config_json or config"
                + (f" (got {', '.join(given)})" if given else "")
            )
        body: dict[str, Any] = {}
        if config is not None:
            import yaml  # deferred: most processes never create variations

            body["config_yaml"] = yaml.safe_dump(dict(config), sort_keys=False)
        elif config_yaml is not None:
            body["config_yaml"] = config_yaml
        else:
            body["config_json"] = dict(config_json or {})
        if name is not None:
            body["name"] = name
        if accelerate_config_json is not None:
            body["accelerate_config_json"] = dict(accelerate_config_json)
        if launch_config is not None:
            body["launch_config"] = dict(launch_config)
        path = self._transport.path("experiments", experiment_id, "variations")
        return Variation.from_dict(self._transport.request("POST", path, json=body))

    def get(self, variation_id: str) -> Variation:
        """Fetch one variation."""
        data = self._transport.request("GET", self._transport.path("variations", variation_id))
        return Variation.from_dict(data)

    def list(
        self,
        experiment_id: str,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        order: Order | None = None,
    ) -> Page[Variation]:
        """An experiment's variations, newest first: iterate for all of them across pages.

        ``limit`` is the page size; ``cursor`` starts from a page's ``next_cursor``;
        ``order="asc"`` walks oldest first (default: the server's, newest first).
        """
        path = self._transport.path("experiments", experiment_id, "variations")
        return self._list(path, {"limit": limit, "order": order}, Variation, cursor)
