"""Reading the files users hand gradspec (streams, expectations, baselines, benchmark JSON).

Every such file can be missing, binary or unreadable; each reader reports that as
one line naming the file, in its own error type, so the CLI can exit 2 with it.
"""

from __future__ import annotations

from pathlib import Path


def read_input_text(path: Path | str, what: str, error: type[Exception]) -> str:
    """The text of ``path``, or ``error`` with one line saying why it cannot be had."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise error(f"{path}: no such {what}") from exc
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not a text file (byte {exc.start} is not UTF-8)") from exc
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror or exc})") from exc
