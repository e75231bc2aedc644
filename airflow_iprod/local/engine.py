"""Wire the local engine together: stores, job service, RPC edge, scheduler and the HTTP server.

``LocalEngine(config).start()`` listens on ``config.host:config.port`` (0 picks a free port) and returns
once the server accepts connections; ``.endpoint`` is then ``"127.0.0.1:PORT"``; ``.stop()`` ends it.
Never imports Airflow: the engine runs as a plain service.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from typing import Any

from airflow_iprod.local import oss_api
from airflow_iprod.local.config import EngineConfig, load_or_create_credential
from airflow_iprod.local.console.routes import Console, is_console_request
from airflow_iprod.local.download_urls import DownloadUrls
from airflow_iprod.local.faults import Faults
from airflow_iprod.local.http import HttpRequest, HttpResponse
from airflow_iprod.local.job_store import JobStore
from airflow_iprod.local.media_assets import MediaAssets
from airflow_iprod.local.mns_api import MnsApi, is_mns
from airflow_iprod.local.mns_callbacks import CallbackSender
from airflow_iprod.local.mns_signing import MnsVerifier
from airflow_iprod.local.mns_store import MnsStore
from airflow_iprod.local.objects import ObjectStore
from airflow_iprod.local.rpc import RpcEdge, is_rpc
from airflow_iprod.local.rpc_signing import SignatureVerifier
from airflow_iprod.local.scheduler import Scheduler
from airflow_iprod.local.server import EngineHTTPServer
from airflow_iprod.local.service import JobService
from airflow_iprod.local.stats import EngineStats
from airflow_iprod.local.throttle import Throttle
from airflow_iprod.local.tls import ensure_certificates, server_context

STATS_PATH = "/-/stats"  # counters only (connections, calls per action): see local/stats.py


class _Server(EngineHTTPServer):
    """Also ends its open keep-alive connections on close: a handler thread blocked on an idle one would
    otherwise go on answering from a stopped engine (a client's pool reuses it after a restart)."""

    def __init__(self, *args: Any, stats: EngineStats, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stats = stats
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        self.stats.connection_opened(self.ssl_context is not None)
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def server_close(self) -> None:
        # First end the open connections: ThreadingMixIn.server_close joins every handler thread, and
        # one blocked reading an idle keep-alive connection would hold it until the client hangs up.
        with self._open_lock:
            open_now = list(self._open)
        for conn in open_now:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        super().server_close()


class LocalEngine:
    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        config.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # new: private (keys, jobs)
        if not config.credentials:  # no key given: use (or create) the one kept in the data dir
            config.add_credential(load_or_create_credential(config.data_dir))
        self.jobs = JobStore(config.data_dir / "jobs.sqlite")
        self.objects = ObjectStore.for_data_dir(config.data_dir)
        self.verifier = SignatureVerifier(config.credential, config.timestamp_window_s, config.nonce_ttl_s)
        self.throttle = Throttle(config.rate_for)
        self.faults = Faults(config.faults)
        self.media = MediaAssets(self.jobs, self.objects, DownloadUrls(config, lambda: self.endpoint))
        self.console = Console(config, self.objects, self.jobs.path, lambda: self.endpoint)  # /-/console/
        self.scheduler = Scheduler(
            config, self.jobs, self.objects.root, self.faults, media_hook=self.media.register_outputs
        )
        self.service = JobService(
            self.jobs, self.objects, self.scheduler, self.media, self.faults, config.region
        )
        self.stats = EngineStats()
        self.rpc = RpcEdge(self.service, self.throttle, self.verifier, self.faults, self.stats)
        self.ca_file = (
            ensure_certificates(config.data_dir, (config.host, "localhost")) if config.tls else None
        )
        # MNS queues share the job store's SQLite file: a job's callback is stored with its outbox row gone.
        self.mns_store = MnsStore(self.jobs.path)
        self.mns = MnsApi(self.mns_store, MnsVerifier(config.credential, config.timestamp_window_s))
        self.callbacks = CallbackSender(self.jobs, self.mns_store, self.faults)
        self.jobs.on_finish = self.callbacks.wake
        self._server: EngineHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.requeued: list[str] = []
        self._stop_lock = threading.Lock()
        self._stopped = False

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> LocalEngine:
        tls = (
            server_context(self.config.data_dir, (self.config.host, "localhost")) if self.config.tls else None
        )
        self._server = _Server(
            (self.config.host, self.config.port), self.dispatch, is_rpc, ssl_context=tls, stats=self.stats
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, name="iprod-http", daemon=True
        )
        self._thread.start()
        self.requeued = self.scheduler.start()
        self.callbacks.start()  # also sends what a previous engine left in the outbox
        return self

    def stop(self) -> None:
        """Stop taking requests, then kill running workers (their jobs rerun on the next start), then
        close the job store. Idempotent: a second call (a second signal, ``__exit__``) does nothing."""
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
            if self._server is not None:
                self._server.shutdown()
                self._server.server_close()
                self._server = None
            self.scheduler.stop()
            self.callbacks.stop()
            self.mns_store.close()  # long polls still waiting answer 503
            self.jobs.close()

    def __enter__(self) -> LocalEngine:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the engine is not started")
        return self._server.server_address[1]

    @property
    def endpoint(self) -> str:
        return f"{self.config.host}:{self.port}"

    # -- requests ----------------------------------------------------------------------------------

    @property
    def protocol(self) -> str:
        return "https" if self.config.tls else "http"

    def dispatch(self, request: HttpRequest) -> HttpResponse:
        if is_mns(request):  # x-mns-version: MNS queues (a bucket named "queues" stays OSS's)
            self.stats.rpc_call(f"MNS {request.method}")  # GET receives, PUT releases, DELETE deletes
            return self.mns.handle(request)
        if is_console_request(request, self.config):  # path style /-/console/...: "-" is no bucket
            return self.console.handle(request)
        if request.method == "GET" and request.path == STATS_PATH:
            since = dict(request.query).get("since")  # epoch seconds: the sliding second from then on
            try:
                snapshot = self.stats.snapshot(float(since) if since else None)
            except ValueError:
                return HttpResponse(400, {"Content-Type": "text/plain"}, b"since: epoch seconds")
            return HttpResponse(200, {"Content-Type": "application/json"}, json.dumps(snapshot).encode())
        if is_rpc(request):
            return self.rpc.handle(request)
        return oss_api.handle(request, self.config, self.objects)
