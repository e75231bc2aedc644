"""Durable job and media-asset records: SQLite in WAL mode inside the engine's data dir.

One row per job holds the request as submitted (so Query can echo every field), the scheduling keys
(pipeline, priority, a FIFO sequence) and the outcome. Worker processes only read; the engine process
is the single writer of job state, which keeps Cancel and completion free of races.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

QUEUING, ANALYZING, SUCCESS, FAIL = "Queuing", "Analyzing", "Success", "Fail"
FINISHED = (SUCCESS, FAIL)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT UNIQUE NOT NULL,
    api TEXT NOT NULL,
    function_name TEXT NOT NULL,
    request TEXT NOT NULL,            -- JSON: the submitted fields, echoed by Query
    params TEXT NOT NULL,             -- JSON: JobParams validated by the catalog, defaults filled
    input_url TEXT NOT NULL,          -- resolved oss://bucket/key of the input object
    output_template TEXT NOT NULL,    -- oss://bucket/key with placeholders still in it ('' if none)
    pipeline_id TEXT NOT NULL,
    priority INTEGER NOT NULL,
    status TEXT NOT NULL,
    code TEXT,
    message TEXT,
    result TEXT,                      -- JSON string as Query returns it
    outputs TEXT,                     -- JSON: {"files": [...], "media_ids": [...]}
    create_time REAL NOT NULL,
    start_time REAL,
    finish_time REAL,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_queue ON jobs (status, priority, seq);
CREATE TABLE IF NOT EXISTS media (
    media_id TEXT PRIMARY KEY,
    input_url TEXT NOT NULL,
    media_type TEXT,
    title TEXT,
    description TEXT,
    biz TEXT,
    business_type TEXT,
    user_data TEXT,
    reference_id TEXT,
    status TEXT NOT NULL DEFAULT 'Normal',
    create_time REAL NOT NULL,
    modify_time REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS media_url ON media (input_url);
-- One row per job end, written in the transaction that ends the job; the callback sender
-- (mns_callbacks) turns it into the job's one completion message and deletes it in one transaction.
CREATE TABLE IF NOT EXISTS callback_outbox (job_id TEXT PRIMARY KEY, created REAL NOT NULL);
"""


def new_id() -> str:
    return uuid.uuid4().hex


def iso_time(epoch: float | None) -> str | None:
    """Epoch seconds -> ``YYYY-MM-DDTHH:MM:SSZ`` (the API's GMT format)."""
    if epoch is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


@dataclass
class Job:
    job_id: str
    api: str
    function_name: str
    request: dict[str, Any]
    params: dict[str, Any]
    input_url: str
    output_template: str
    pipeline_id: str
    priority: int
    status: str = QUEUING
    code: str | None = None
    message: str | None = None
    result: str | None = None
    outputs: dict[str, list[str]] = field(default_factory=dict)
    create_time: float = field(default_factory=time.time)
    start_time: float | None = None
    finish_time: float | None = None
    attempts: int = 0
    seq: int = 0

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Job:
        return cls(
            job_id=row["job_id"],
            api=row["api"],
            function_name=row["function_name"],
            request=json.loads(row["request"]),
            params=json.loads(row["params"]),
            input_url=row["input_url"],
            output_template=row["output_template"],
            pipeline_id=row["pipeline_id"],
            priority=row["priority"],
            status=row["status"],
            code=row["code"],
            message=row["message"],
            result=row["result"],
            outputs=json.loads(row["outputs"] or "{}"),
            create_time=row["create_time"],
            start_time=row["start_time"],
            finish_time=row["finish_time"],
            attempts=row["attempts"],
            seq=row["seq"],
        )


@dataclass
class MediaAsset:
    media_id: str
    input_url: str
    media_type: str | None = None
    title: str | None = None
    description: str | None = None
    biz: str | None = None
    business_type: str | None = None
    user_data: str | None = None
    reference_id: str | None = None
    status: str = "Normal"
    create_time: float = field(default_factory=time.time)
    modify_time: float = field(default_factory=time.time)


class JobStore:
    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self._readonly = readonly
        self._local = threading.local()
        self._write_lock = threading.Lock()
        # Every thread's connection, so close() can close them all: the last close checkpoints the WAL
        # and removes the -wal/-shm files, which is what a clean shutdown leaves behind.
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self._closed = False
        self.on_finish: Callable[[str], None] | None = None  # told (job id) after a job's end is stored
        if not readonly:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._write_lock:
                self._conn().executescript(_SCHEMA)  # executescript manages its own transaction

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise sqlite3.ProgrammingError("the job store is closed (the engine is stopping)")
            # check_same_thread=False only so close() may close it from the stopping thread; each
            # connection is still used by the one thread that opened it.
            if self._readonly:
                conn = sqlite3.connect(
                    f"file:{self.path}?mode=ro", uri=True, timeout=30, check_same_thread=False
                )
            else:
                conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
            with self._conns_lock:
                self._conns.append(conn)
        return conn

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        """Close every thread's connection (idempotent). Call once the threads using it have stopped."""
        with self._write_lock, self._conns_lock:  # not in the middle of anyone's transaction
            self._closed = True
            conns, self._conns = self._conns, []
        for conn in conns:
            conn.close()
        self._local.conn = None

    # -- jobs --------------------------------------------------------------------------------------

    def add(self, job: Job) -> Job:
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO jobs (job_id, api, function_name, request, params, input_url, output_template,"
                " pipeline_id, priority, status, code, message, result, outputs, create_time, finish_time)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    job.job_id,
                    job.api,
                    job.function_name,
                    json.dumps(job.request),
                    json.dumps(job.params),
                    job.input_url,
                    job.output_template,
                    job.pipeline_id,
                    job.priority,
                    job.status,
                    job.code,
                    job.message,
                    job.result,
                    json.dumps(job.outputs),
                    job.create_time,
                    job.finish_time,
                ),
            )
            job.seq = cur.lastrowid or 0
        return job

    def get(self, job_id: str) -> Job | None:
        row = self._conn().execute("SELECT * FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return Job.from_row(row) if row else None

    def queued(self) -> list[Job]:
        """Queued jobs in run order: smaller Priority first, then submission order."""
        rows = (
            self._conn()
            .execute("SELECT * FROM jobs WHERE status = ? ORDER BY priority, seq", (QUEUING,))
            .fetchall()
        )
        return [Job.from_row(r) for r in rows]

    def mark_running(self, job_id: str) -> bool:
        with self._tx() as db:
            cur = db.execute(
                "UPDATE jobs SET status = ?, start_time = ?, attempts = attempts + 1"
                " WHERE job_id = ? AND status = ?",
                (ANALYZING, time.time(), job_id, QUEUING),
            )
            return cur.rowcount == 1

    def finish(
        self,
        job_id: str,
        status: str,
        *,
        code: str | None = None,
        message: str | None = None,
        result: str | None = None,
        outputs: dict[str, list[str]] | None = None,
    ) -> bool:
        """Record the outcome once; False if the job had already finished (e.g. cancelled meanwhile)."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE jobs SET status = ?, code = ?, message = ?, result = ?, outputs = ?, finish_time = ?"
                " WHERE job_id = ? AND status NOT IN (?, ?)",
                (
                    status,
                    code,
                    message,
                    result,
                    json.dumps(outputs or {}),
                    time.time(),
                    job_id,
                    SUCCESS,
                    FAIL,
                ),
            )
            ended = cur.rowcount == 1
            if ended:
                db.execute("INSERT OR IGNORE INTO callback_outbox VALUES (?, ?)", (job_id, time.time()))
        if ended and self.on_finish is not None:
            self.on_finish(job_id)
        return ended

    def requeue(self, job_id: str) -> bool:
        """A running job goes back to the queue (its worker died); False if it had finished meanwhile."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE jobs SET status = ?, start_time = NULL WHERE job_id = ? AND status = ?",
                (QUEUING, job_id, ANALYZING),
            )
            return cur.rowcount == 1

    def requeue_interrupted(self) -> list[str]:
        """After a restart: jobs that were running go back to the queue (their work is redone)."""
        with self._tx() as db:
            rows = db.execute("SELECT job_id FROM jobs WHERE status = ?", (ANALYZING,)).fetchall()
            db.execute("UPDATE jobs SET status = ?, start_time = NULL WHERE status = ?", (QUEUING, ANALYZING))
        return [r["job_id"] for r in rows]

    def count(self, status: str | None = None) -> int:
        if status is None:
            return self._conn().execute("SELECT COUNT(*) FROM jobs").fetchone()[0]
        return self._conn().execute("SELECT COUNT(*) FROM jobs WHERE status = ?", (status,)).fetchone()[0]

    # -- media assets ------------------------------------------------------------------------------

    def add_media(self, asset: MediaAsset) -> MediaAsset:
        with self._tx() as db:
            db.execute(
                "INSERT INTO media (media_id, input_url, media_type, title, description, biz, business_type,"
                " user_data, reference_id, status, create_time, modify_time)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    asset.media_id,
                    asset.input_url,
                    asset.media_type,
                    asset.title,
                    asset.description,
                    asset.biz,
                    asset.business_type,
                    asset.user_data,
                    asset.reference_id,
                    asset.status,
                    asset.create_time,
                    asset.modify_time,
                ),
            )
        return asset

    def get_media(self, media_id: str) -> MediaAsset | None:
        row = self._conn().execute("SELECT * FROM media WHERE media_id = ?", (media_id,)).fetchone()
        return MediaAsset(**dict(row)) if row else None

    def find_media_by_url(self, input_url: str) -> MediaAsset | None:
        row = (
            self._conn()
            .execute("SELECT * FROM media WHERE input_url = ? ORDER BY create_time LIMIT 1", (input_url,))
            .fetchone()
        )
        return MediaAsset(**dict(row)) if row else None

    def update_media_url(self, media_id: str, input_url: str) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE media SET input_url = ?, modify_time = ? WHERE media_id = ?",
                (input_url, time.time(), media_id),
            )
