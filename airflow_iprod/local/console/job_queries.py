"""Read-only queries over the engine's job store for the console: filtered, newest-first pages.

Each call opens its own read-only connection (``mode=ro``) to ``jobs.sqlite`` and closes it: the
console can never write job state (the engine stays its single writer) and holds nothing open when
the engine stops. WAL mode lets these reads run beside the engine's writes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from airflow_iprod.local.job_store import ANALYZING, FAIL, QUEUING, SUCCESS, Job

STATUSES = (QUEUING, ANALYZING, SUCCESS, FAIL)


@dataclass(frozen=True)
class JobFilter:
    status: str = ""
    function_name: str = ""
    pipeline_id: str = ""

    def where(self) -> tuple[str, list[str]]:
        clauses, args = [], []
        for column, value in (
            ("status", self.status),
            ("function_name", self.function_name),
            ("pipeline_id", self.pipeline_id),
        ):
            if value:
                clauses.append(f"{column} = ?")
                args.append(value)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), args


@dataclass(frozen=True)
class JobPage:
    jobs: list[Job]
    total: int  # jobs matching the filter, on every page


class JobQueries:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)) as db:
            db.row_factory = sqlite3.Row
            yield db

    def page(self, where: JobFilter, offset: int, limit: int) -> JobPage:
        """Jobs matching ``where``, newest submission first."""
        sql, args = where.where()
        with self._db() as db:
            total = db.execute(f"SELECT COUNT(*) FROM jobs{sql}", args).fetchone()[0]
            rows = db.execute(
                f"SELECT * FROM jobs{sql} ORDER BY seq DESC LIMIT ? OFFSET ?", [*args, limit, offset]
            ).fetchall()
        return JobPage([Job.from_row(r) for r in rows], total)

    def get(self, job_id: str) -> Job | None:
        with self._db() as db:
            row = db.execute("SELECT * FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return Job.from_row(row) if row else None

    def choices(self) -> tuple[list[str], list[str]]:
        """The FunctionNames and PipelineIds that jobs have, for the filter menus."""
        with self._db() as db:
            functions = [r[0] for r in db.execute("SELECT DISTINCT function_name FROM jobs ORDER BY 1")]
            pipelines = [r[0] for r in db.execute("SELECT DISTINCT pipeline_id FROM jobs ORDER BY 1")]
        return functions, pipelines
