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

from gradspec.spec.capabilities import ALL_CAPABILITIES


@dataclass(frozen=True)
class Engine:
    """An autograd engine under test.

    ``namespace`` is what the cases call ``T``: it offers the torch-compatible
    subset documented in :mod:`gradspec.spec.api`. ``session`` is entered around
    every case, so an adapter can pin a device or a default dtype without
    wrapping each function. ``unavailable`` names why the engine cannot run here
    (for example no CUDA device); every case then reports *unsupported* with it.
    """

    name: str
    namespace: Any
    device: str = "cpu"
    version: str = "unknown"
    capabilities: frozenset[str] = ALL_CAPABILITIES
    unavailable: str | None = None
    session: Callable[[], AbstractContextManager[Any]] = field(default=nullcontext)
    description: str = ""

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
