"""What a job command prints and returns: exit codes, the usage error, and a printer that masks keys.

stdout holds only the result (a JobId, or the job as JSON); progress and errors go to stderr.
"""

from __future__ import annotations

import io
import sys

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_TIMEOUT, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class UsageError(Exception):
    """Bad input found before anything was sent: exit 2."""


class Printer:
    """stdout for results, stderr for the rest; every known secret is masked on the way out."""

    def __init__(self) -> None:
        self.secrets: list[str] = []

    def hide(self, *values: str | None) -> None:
        # As Airflow's masker: shorter values would mangle ordinary text (real keys are 16+ chars).
        self.secrets += [v for v in values if v and len(v) >= 5]

    def _clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def out(self, text: str) -> None:
        print(self._clean(text), flush=True)

    def err(self, text: str) -> None:
        print(self._clean(text), file=sys.stderr, flush=True)


class Stderr(io.TextIOBase):
    """Whatever ``sys.stderr`` is at the moment of writing (tests swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()
