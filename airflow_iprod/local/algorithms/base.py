"""The contract between the local engine and one algorithm.

An algorithm module in this package is named after its FunctionName in snake_case
(``SpeechDenoise`` -> ``speech_denoise.py``) and defines ``run(ctx: JobContext) -> AlgorithmResult``.
The engine calls it in a worker process with the input already on local disk and the JobParams
already validated against the catalog (defaults filled in). The algorithm writes every output file
to a path it gets from ``ctx.new_output(...)``; the engine expands the output placeholders, moves
the files into the object store once ``run`` returns, and fills OutputFiles / OutputUrls.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class AlgorithmError(Exception):
    """The job fails with this message (Status=Fail); ``code`` goes to the job's error code."""

    def __init__(self, message: str, code: str = "InvalidInput") -> None:
        super().__init__(message)
        self.code = code


class UnsupportedOption(AlgorithmError):
    """A documented option the local engine cannot serve offline (raised at Submit where possible)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="NotSupportedLocally")


@dataclass(frozen=True)
class OutputTarget:
    """Where an algorithm writes one output file.

    ``path`` is a scratch file the algorithm writes; ``url`` is the final ``oss://bucket/key`` it
    will have after the engine commits it (use it in ``Result`` where the docs show a file URL).
    """

    path: Path
    url: str
    sequence_id: int | None = None
    result_type: str | None = None


@dataclass
class AlgorithmResult:
    """What ``run`` returns: the outputs it wrote and the JSON-able ``Result`` of the job."""

    outputs: list[OutputTarget] = field(default_factory=list)
    result: Any = field(default_factory=dict)


@dataclass
class JobContext:
    function_name: str
    api: str  # "ice" or "mts"
    input_path: Path  # the input media, on local disk (read only)
    params: dict[str, Any]  # validated JobParams, catalog defaults filled in
    model_id: str | None
    workdir: Path  # scratch directory, removed after the job
    new_output: Callable[..., OutputTarget]  # new_output(sequence_id=None, result_type=None, ext=None)
    # fetch(url): an oss:// or http(s) object URL of the engine's store, as a local file
    fetch: Callable[[str], Path]
    threads: int = 1  # CPU threads this job may use
    # The input as the job's Query shows it (oss://bucket/key): what a Result may name, never input_path.
    input_url: str = ""

    def log(self, message: str) -> None:
        """Progress note, kept in the job record for debugging."""
        print(f"[{self.function_name}] {message}", flush=True)
