"""Namespaces: one class per group of endpoints, each taking only the ``Transport``."""

from methodic.namespaces.assets import Assets
from methodic.namespaces.experiments import Experiments
from methodic.namespaces.runs import Runs
from methodic.namespaces.search import Search
from methodic.namespaces.variations import Variations

__all__ = ["Assets", "Experiments", "Runs", "Search", "Variations"]
