"""Durable MNS queues and messages, in the job store's SQLite file (so a job's callback leaves its outbox
row and lands in its queue in one transaction), plus the account-wide ICE event-callback setting.

A message is *active* once its ``visible_at`` has passed. ReceiveMessage takes active messages (smaller
Priority first, then send order), gives each a new receipt handle, counts the dequeue and hides it for
the queue's VisibilityTimeout; unless deleted by that handle in time, it becomes active again and is
redelivered with a new handle (the old one is then refused). Long polling waits on a condition that
SendMessage and ChangeMessageVisibility notify, bounded by the next hidden message's reappearance, so a
waiting request holds a thread but never spins.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow_iprod.local.mns_wire import MnsError, OutgoingMessage, message_not_exist, queue_not_exist

# The documented defaults of CreateQueue's attributes.
QUEUE_DEFAULTS = {
    "DelaySeconds": 0,
    "MaximumMessageSize": 65536,
    "MessageRetentionPeriod": 345600,
    "VisibilityTimeout": 30,
    "PollingWaitSeconds": 0,
}
DEFAULT_PRIORITY = 8
HANDLE_CHARS = 32
_ACTIVE = "SELECT * FROM mns_messages WHERE queue = ? AND visible_ms <= ? ORDER BY priority, seq LIMIT ?"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS mns_queues (
    name TEXT PRIMARY KEY,
    delay_seconds INTEGER NOT NULL,
    maximum_message_size INTEGER NOT NULL,
    message_retention_period INTEGER NOT NULL,
    visibility_timeout INTEGER NOT NULL,
    polling_wait_seconds INTEGER NOT NULL,
    logging_enabled INTEGER NOT NULL DEFAULT 0,
    create_time REAL NOT NULL,
    modify_time REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS mns_messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    message_id TEXT UNIQUE NOT NULL,
    body TEXT NOT NULL,
    body_md5 TEXT NOT NULL,
    priority INTEGER NOT NULL,
    enqueue_ms INTEGER NOT NULL,
    visible_ms INTEGER NOT NULL,      -- active once this has passed
    first_dequeue_ms INTEGER,
    dequeue_count INTEGER NOT NULL DEFAULT 0,
    receipt_handle TEXT
);
CREATE INDEX IF NOT EXISTS mns_messages_next ON mns_messages (queue, visible_ms, priority, seq);
CREATE INDEX IF NOT EXISTS mns_messages_handle ON mns_messages (receipt_handle);
CREATE TABLE IF NOT EXISTS ice_event_callback (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    callback_type TEXT NOT NULL,
    queue_name TEXT,
    callback_url TEXT,
    event_types TEXT NOT NULL,
    auth_switch TEXT,
    auth_key TEXT,
    update_time REAL NOT NULL
);
"""


def now_ms() -> int:
    return int(time.time() * 1000)


def body_md5(body: str) -> str:
    return hashlib.md5(body.encode("utf-8")).hexdigest().upper()


@dataclass(frozen=True)
class QueueInfo:
    name: str
    attributes: dict[str, int]
    logging_enabled: bool
    create_time: float
    modify_time: float
    active: int = 0
    inactive: int = 0
    delayed: int = 0


@dataclass(frozen=True)
class Received:
    message_id: str
    receipt_handle: str | None  # None for a peek
    body_md5: str
    body: str
    enqueue_ms: int
    next_visible_ms: int
    first_dequeue_ms: int
    dequeue_count: int
    priority: int


@dataclass(frozen=True)
class EventCallback:
    """ICE's SetEventCallback setting (one per account)."""

    callback_type: str
    queue_name: str | None
    callback_url: str | None
    event_types: tuple[str, ...]
    auth_switch: str | None = None
    auth_key: str | None = None


class MnsStore:
    """One SQLite connection behind a lock: every operation is a few small statements, and one
    connection per HTTP thread would pile up open files for as long as the engine runs."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._changed = threading.Condition()
        self._generation = 0  # bumped (under _changed) whenever a message may have become receivable
        self._closed = False
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.row_factory = sqlite3.Row
        with self._lock:
            self._db.executescript(_SCHEMA)  # executescript manages its own transaction

    # -- connections -----------------------------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._closed:
                raise MnsError(503, "ServiceUnavailable", "The engine is stopping.")
            yield self._db

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._read() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def close(self) -> None:
        """Wake every long poll (they answer 503) and close the connection (idempotent)."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        with self._lock:
            self._db.close()

    def _notify(self) -> None:
        with self._changed:
            self._generation += 1
            self._changed.notify_all()

    # -- queues ----------------------------------------------------------------------------------------

    def create_queue(self, name: str, attributes: dict[str, int], logging_enabled: bool) -> bool:
        """True if created; False if it exists with the same attributes (MNS answers 204 then)."""
        attrs = {**QUEUE_DEFAULTS, **attributes}
        with self._tx() as db:
            row = db.execute("SELECT * FROM mns_queues WHERE name = ?", (name,)).fetchone()
            if row is not None:
                if _attributes(row) == attrs and bool(row["logging_enabled"]) == logging_enabled:
                    return False
                raise MnsError(
                    409,
                    "QueueAlreadyExist",
                    f"The queue {name!r} already exists with other attributes "
                    "(SetQueueAttributes changes them).",
                )
            now = time.time()
            db.execute(
                "INSERT INTO mns_queues (name, delay_seconds, maximum_message_size, message_retention_period,"
                " visibility_timeout, polling_wait_seconds, logging_enabled, create_time, modify_time)"
                " VALUES (?,?,?,?,?,?,?,?,?)",
                (name, *(attrs[k] for k in QUEUE_DEFAULTS), int(logging_enabled), now, now),
            )
        return True

    def set_queue_attributes(self, name: str, attributes: dict[str, int], logging: bool | None) -> None:
        with self._tx() as db:
            row = self._queue_row(db, name)
            attrs = {**_attributes(row), **attributes}
            enabled = bool(row["logging_enabled"]) if logging is None else logging
            db.execute(
                "UPDATE mns_queues SET delay_seconds=?, maximum_message_size=?, message_retention_period=?,"
                " visibility_timeout=?, polling_wait_seconds=?, logging_enabled=?, modify_time=?"
                " WHERE name=?",
                (*(attrs[k] for k in QUEUE_DEFAULTS), int(enabled), time.time(), name),
            )

    def get_queue(self, name: str) -> QueueInfo:
        with self._read() as db:
            row = self._queue_row(db, name)
            now = now_ms()
            counts = db.execute(
                "SELECT SUM(visible_ms <= ?), SUM(visible_ms > ? AND dequeue_count > 0),"
                " SUM(visible_ms > ? AND dequeue_count = 0) FROM mns_messages WHERE queue = ?",
                (now, now, now, name),
            ).fetchone()
        return QueueInfo(
            name=name,
            attributes=_attributes(row),
            logging_enabled=bool(row["logging_enabled"]),
            create_time=row["create_time"],
            modify_time=row["modify_time"],
            active=counts[0] or 0,
            inactive=counts[1] or 0,
            delayed=counts[2] or 0,
        )

    def exists(self, name: str) -> bool:
        with self._read() as db:
            return db.execute("SELECT 1 FROM mns_queues WHERE name = ?", (name,)).fetchone() is not None

    def delete_queue(self, name: str) -> None:
        with self._tx() as db:
            self._queue_row(db, name)
            db.execute("DELETE FROM mns_messages WHERE queue = ?", (name,))
            db.execute("DELETE FROM mns_queues WHERE name = ?", (name,))

    def list_queues(self, prefix: str, marker: str, limit: int) -> tuple[list[str], str]:
        """Names in order from ``marker`` on, at most ``limit``, and the next marker ('' at the end)."""
        with self._read() as db:
            rows = db.execute(
                "SELECT name FROM mns_queues WHERE name >= ? AND substr(name, 1, ?) = ?"
                " ORDER BY name LIMIT ?",
                (marker, len(prefix), prefix, limit + 1),
            ).fetchall()
        names = [r["name"] for r in rows]
        return (names[:limit], names[limit]) if len(names) > limit else (names, "")

    @staticmethod
    def _queue_row(db: sqlite3.Connection, name: str) -> sqlite3.Row:
        row = db.execute("SELECT * FROM mns_queues WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise queue_not_exist(name)
        return row

    # -- messages --------------------------------------------------------------------------------------

    def send(self, name: str, messages: list[OutgoingMessage]) -> list[tuple[str, str]]:
        """Store the messages; their (MessageId, MessageBodyMD5) in order."""
        with self._tx() as db:
            row = self._queue_row(db, name)
            sent = [self._insert(db, name, row, m) for m in messages]
        self._notify()
        return sent

    @staticmethod
    def _insert(
        db: sqlite3.Connection, name: str, queue: sqlite3.Row, message: OutgoingMessage
    ) -> tuple[str, str]:
        size = len(message.body.encode("utf-8"))
        if size > queue["maximum_message_size"]:
            raise MnsError(
                400,
                "InvalidArgument",
                f"The message body has {size} bytes; the queue {name!r} takes at most "
                f"{queue['maximum_message_size']} (MaximumMessageSize).",
            )
        delay = queue["delay_seconds"] if message.delay_seconds is None else message.delay_seconds
        enqueued = now_ms()
        message_id, md5 = uuid.uuid4().hex.upper(), body_md5(message.body)
        db.execute(
            "INSERT INTO mns_messages (queue, message_id, body, body_md5, priority, enqueue_ms, visible_ms)"
            " VALUES (?,?,?,?,?,?,?)",
            (name, message_id, message.body, md5, message.priority or DEFAULT_PRIORITY, enqueued,
             enqueued + delay * 1000),
        )  # fmt: skip
        return message_id, md5

    def receive(self, name: str, count: int, wait_s: float | None) -> list[Received]:
        """Up to ``count`` active messages, waiting up to ``wait_s`` (None: the queue's
        PollingWaitSeconds) for the first; [] when none came."""
        start = time.monotonic()
        while True:
            with self._changed:
                if self._closed:  # woken by close(): answer at once, not at the end of the wait
                    raise MnsError(503, "ServiceUnavailable", "The engine is stopping.")
                generation = self._generation
            taken, next_visible_ms, queue_wait = self._take(name, count)
            if taken:
                return taken
            wait = queue_wait if wait_s is None else wait_s
            left = wait - (time.monotonic() - start)
            if left <= 0:
                return []
            if next_visible_ms is not None:  # a hidden message comes back within the wait
                left = min(left, max(0.0, (next_visible_ms - now_ms()) / 1000.0) + 0.005)
            with self._changed:
                if self._generation == generation and not self._closed:
                    self._changed.wait(left)

    def _take(self, name: str, count: int) -> tuple[list[Received], int | None, float]:
        with self._tx() as db:
            queue = self._queue_row(db, name)
            now = now_ms()
            db.execute(
                "DELETE FROM mns_messages WHERE queue = ? AND enqueue_ms < ?",
                (name, now - queue["message_retention_period"] * 1000),
            )
            rows = db.execute(
                _ACTIVE,
                (name, now, count),
            ).fetchall()
            taken = []
            hidden_until = now + queue["visibility_timeout"] * 1000
            for row in rows:
                handle = secrets.token_hex(HANDLE_CHARS // 2)
                first = row["first_dequeue_ms"] or now
                db.execute(
                    "UPDATE mns_messages SET receipt_handle=?, dequeue_count=dequeue_count+1,"
                    " first_dequeue_ms=?, visible_ms=? WHERE seq=?",
                    (handle, first, hidden_until, row["seq"]),
                )
                taken.append(_received(row, handle, hidden_until, first, row["dequeue_count"] + 1))
            nxt = db.execute(
                "SELECT MIN(visible_ms) FROM mns_messages WHERE queue = ? AND visible_ms > ?", (name, now)
            ).fetchone()[0]
        return taken, nxt, float(queue["polling_wait_seconds"])

    def peek(self, name: str, count: int) -> list[Received]:
        with self._read() as db:
            self._queue_row(db, name)
            rows = db.execute(_ACTIVE, (name, now_ms(), count)).fetchall()
        return [
            _received(r, None, r["visible_ms"], r["first_dequeue_ms"] or 0, r["dequeue_count"]) for r in rows
        ]

    def delete(self, name: str, handle: str) -> None:
        with self._tx() as db:
            self._queue_row(db, name)
            seq = self._held(db, name, handle)
            db.execute("DELETE FROM mns_messages WHERE seq = ?", (seq,))

    def change_visibility(self, name: str, handle: str, timeout_s: int) -> tuple[str, int]:
        """Hide the message ``timeout_s`` from now; its new receipt handle and NextVisibleTime."""
        with self._tx() as db:
            self._queue_row(db, name)
            seq = self._held(db, name, handle)
            new_handle, visible = secrets.token_hex(HANDLE_CHARS // 2), now_ms() + timeout_s * 1000
            db.execute(
                "UPDATE mns_messages SET receipt_handle=?, visible_ms=? WHERE seq=?",
                (new_handle, visible, seq),
            )
        self._notify()
        return new_handle, visible

    @staticmethod
    def _held(db: sqlite3.Connection, name: str, handle: str) -> int:
        """The message ``handle`` holds: issued by the last receive and its visibility timeout not over."""
        if len(handle) != HANDLE_CHARS or any(c not in "0123456789abcdef" for c in handle):
            raise MnsError(400, "ReceiptHandleError", f"The receipt handle {handle!r} is not valid.")
        row = db.execute(
            "SELECT seq, visible_ms FROM mns_messages WHERE queue = ? AND receipt_handle = ?", (name, handle)
        ).fetchone()
        if row is None or row["visible_ms"] <= now_ms():
            raise message_not_exist(
                "Message not exist: the receipt handle is out of date (the message was deleted, received "
                "again, or its visibility timeout ended)."
            )
        return row["seq"]

    # -- job callbacks ---------------------------------------------------------------------------------

    def pending_callbacks(self, limit: int = 256) -> list[tuple[str, float]]:
        """Outbox rows (job id, when the job ended), oldest first; the job store writes them."""
        with self._read() as db:
            rows = db.execute(
                "SELECT job_id, created FROM callback_outbox ORDER BY created LIMIT ?", (limit,)
            ).fetchall()
        return [(r["job_id"], r["created"]) for r in rows]

    def settle_callback(self, job_id: str, queue: str | None, body: str | None) -> bool:
        """In one transaction: the callback message into ``queue`` (if given and it exists) and the outbox
        row out. True if a message was stored; False too if another settle took the row first."""
        with self._tx() as db:
            stored = False
            if db.execute("DELETE FROM callback_outbox WHERE job_id = ?", (job_id,)).rowcount == 0:
                return False  # settled already: never a second message
            if queue and body is not None:
                row = db.execute("SELECT * FROM mns_queues WHERE name = ?", (queue,)).fetchone()
                if row is not None:
                    self._insert(db, queue, row, OutgoingMessage(body=body))
                    stored = True
        if stored:
            self._notify()
        return stored

    def event_callback(self) -> EventCallback | None:
        with self._read() as db:
            row = db.execute("SELECT * FROM ice_event_callback WHERE id = 1").fetchone()
        return _event_callback(row)

    def set_event_callback(self, setting: EventCallback) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO ice_event_callback (id, callback_type, queue_name, callback_url,"
                " event_types, auth_switch, auth_key, update_time) VALUES (1,?,?,?,?,?,?,?)",
                (
                    setting.callback_type,
                    setting.queue_name,
                    setting.callback_url,
                    ",".join(setting.event_types),
                    setting.auth_switch,
                    setting.auth_key,
                    time.time(),
                ),
            )


def _attributes(row: sqlite3.Row) -> dict[str, int]:
    return {
        "DelaySeconds": row["delay_seconds"],
        "MaximumMessageSize": row["maximum_message_size"],
        "MessageRetentionPeriod": row["message_retention_period"],
        "VisibilityTimeout": row["visibility_timeout"],
        "PollingWaitSeconds": row["polling_wait_seconds"],
    }


def _received(row: sqlite3.Row, handle: str | None, visible: int, first: int, count: int) -> Received:
    return Received(
        message_id=row["message_id"],
        receipt_handle=handle,
        body_md5=row["body_md5"],
        body=row["body"],
        enqueue_ms=row["enqueue_ms"],
        next_visible_ms=visible,
        first_dequeue_ms=first,
        dequeue_count=count,
        priority=row["priority"],
    )


def _event_callback(row: Any) -> EventCallback | None:
    if row is None:
        return None
    return EventCallback(
        callback_type=row["callback_type"],
        queue_name=row["queue_name"],
        callback_url=row["callback_url"],
        event_types=tuple(t for t in (row["event_types"] or "").split(",") if t),
        auth_switch=row["auth_switch"],
        auth_key=row["auth_key"],
    )
