"""The Engine record: a torch-like namespace plus what the harness knows about it.

Everything downstream of the loader (the plugin, the outcome records, the reports)
sees engines only through this type, so an engine author's module, the ``torch``
module itself and gradspec's own adapters all look the same to the harness.
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Engine:
    """An autograd engine under test.

    ``namespace`` is what the cases call ``T``: it offers the torch-compatible
    subset documented in :mod:`gradspec.spec.api`. ``session`` is entered around
    every case, so an adapter can pin a device or a default dtype without
    wrapping each function. ``unavailable`` names why the engine cannot run here
    (for example no CUDA device); every case then reports *unsupported* with it.

    ``capabilities`` left out means *probe them* (:func:`~gradspec.conformance.probe.probe_capabilities`,
    inside ``session``): claiming everything by default would make an engine that
    lacks ``cat`` or ``no_grad`` error on whole properties instead of losing only
    the examples that need them. gradspec's own engines declare theirs, which also
    keeps loading them instant.
    """

    name: str
    namespace: Any
    device: str = "cpu"
    version: str = "unknown"
    capabilities: frozenset[str] = None  # type: ignore[assignment] - probed in __post_init__
    unavailable: str | None = None
    session: Callable[[], AbstractContextManager[Any]] = field(default=nullcontext)
    description: str = ""

    def __post_init__(self) -> None:
        if self.capabilities is None:
            # An engine that cannot run here is unsupported for every case whatever it offers.
            found: frozenset[str] = frozenset() if self.unavailable else self._probed()
            object.__setattr__(self, "capabilities", found)
        else:
            object.__setattr__(self, "capabilities", frozenset(self.capabilities))

    def _probed(self) -> frozenset[str]:
        from gradspec.conformance.probe import probe_capabilities  # the probe builds Engines too

        return probe_capabilities(self.namespace, self.session)

    def metadata(self) -> dict[str, Any]:
        """What a report says about this engine and the machine it ran on."""
        return {
            "name": self.name,
            "version": self.version,
            "device": self.device,
            "capabilities": sorted(self.capabilities),
            "unavailable": self.unavailable,
            "description": self.description,
            "python": sys.version.split()[0],
            "platform": platform.platform(),
        }
