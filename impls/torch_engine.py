"""PyTorch as an engine, on the CPU or on a CUDA device.

One adapter serves both devices: around every case on CUDA it enters
``torch.device("cuda")`` as a context manager, which makes every factory call
(``tensor``, ``ones``, ``normal``...) and every module's parameters land on that
device, so the cases stay written exactly as the note writes them.
"""

from __future__ import annotations

from contextlib import nullcontext

from gradspec.conformance.engine import Engine
from gradspec.spec.capabilities import ALL_CAPABILITIES


def _engine(device: str) -> Engine:
    import torch

    unavailable = None
    label = device
    if device == "cuda":
        if torch.cuda.is_available():
            label = f"cuda ({torch.cuda.get_device_name(0)})"
        else:
            # Say which of the two reasons holds: a CPU-only build, or a CUDA build
            # that finds no device (driver, container, CUDA_VISIBLE_DEVICES).
            build = (
                f"a CUDA {torch.version.cuda} build that finds no device"
                if torch.version.cuda
                else "a CPU-only build"
            )
            unavailable = f"no CUDA device here (torch {torch.__version__} is {build})"
    return Engine(
        name=f"torch-{device}",
        namespace=torch,
        device=label,
        version=torch.__version__,
        capabilities=ALL_CAPABILITIES,
        unavailable=unavailable,
        # On the CPU there is nothing to pin, and the device context costs every op
        # a dispatch detour (about 25% of a small graph), which benchmarks would count.
        session=nullcontext if device == "cpu" else lambda: torch.device(device),
        description=f"PyTorch with every tensor and module on {device}",
    )


def cpu_engine() -> Engine:
    """PyTorch on the CPU."""
    return _engine("cpu")


def cuda_engine() -> Engine:
    """PyTorch on the first CUDA device; every case unsupported where there is none."""
    return _engine("cuda")
