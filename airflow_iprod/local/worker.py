"""Run one job in its own process: ``python -m airflow_iprod.local.worker <workdir>/task.json``.

The engine writes ``task.json`` (everything the job needs), starts this process in a new session so
Cancel can kill the whole group, and reads ``outcome.json`` when it exits. This process never writes
the job database: it fetches the input from the object store, runs the algorithm, stores the outputs
with their placeholders expanded, and reports. Only the engine records the job's state.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
import traceback
from pathlib import Path, PurePosixPath
from typing import Any

TASK_FILE = "task.json"
OUTCOME_FILE = "outcome.json"


def write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


ENGINE_PID_ENV = "IPROD_ENGINE_PID"  # set by the scheduler: the engine this worker belongs to


def _watch_parent(parent_pid: int) -> None:
    """Exit when the engine that started us is gone, so an orphan never commits stale outputs."""
    while True:
        if os.getppid() != parent_pid:
            os._exit(3)
        time.sleep(0.5)


def _link_or_copy(src: Path, dest: Path) -> Path:
    """A private name for the object's bytes: a hard link survives the object being replaced."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dest)
    except OSError:
        shutil.copyfile(src, dest)
    return dest


class _Outputs:
    """Hands out scratch paths for ``ctx.new_output`` and knows each one's final object key."""

    def __init__(self, task: dict[str, Any], workdir: Path) -> None:
        self.template: str = task["output_template"]
        self.source: str = task["source"]
        self.timestamp: int = int(task["timestamp"])
        self.default_ext: str = task.get("output_ext") or ""
        self.dir = workdir / "out"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.targets: list[Any] = []

    def new_output(
        self, sequence_id: int | None = None, result_type: str | None = None, ext: str | None = None
    ) -> Any:
        from airflow_iprod import catalog
        from airflow_iprod.local.algorithms.base import OutputTarget

        if not self.template:
            raise RuntimeError("this job has no output location (Output was empty)")
        url = catalog.expand_placeholders(
            self.template,
            source=self.source,
            timestamp=self.timestamp,
            sequence_id=sequence_id,
            result_type=result_type,
        )
        suffix = ext or PurePosixPath(url).suffix or self.default_ext
        path = self.dir / f"{len(self.targets):04d}{suffix}"
        target = OutputTarget(path=path, url=url, sequence_id=sequence_id, result_type=result_type)
        self.targets.append(target)
        return target


def run_task(workdir: Path) -> dict[str, Any]:
    """Run the job described by ``workdir/task.json``; return the outcome (also on failure)."""
    from airflow_iprod import catalog
    from airflow_iprod.local import algorithms
    from airflow_iprod.local.algorithms.base import AlgorithmError, JobContext
    from airflow_iprod.local.objects import ObjectStore

    task = json.loads((workdir / TASK_FILE).read_text())
    store = ObjectStore(Path(task["objects_root"]))
    scratch = workdir / "scratch"
    scratch.mkdir(exist_ok=True)
    fetched = workdir / "in"
    count = [0]
    seen: dict[str, str] = {}  # local copy -> the URL it came from, to keep paths out of messages

    def fetch(url: str) -> Path:
        from airflow_iprod.local.oss_errors import OssError

        try:
            bucket, key = catalog.split_oss_url(url)
            src = store.path_for(bucket, key)
        except (catalog.ValidationError, OssError) as err:  # e.g. an AudioMixing input that is not there
            raise AlgorithmError(
                f"{url!r} cannot be read from the local object store ({err}); upload it first",
                code="InvalidParameter",
            ) from None
        count[0] += 1
        name = PurePosixPath(key).name  # keep the object's name and extension; algorithms may log it
        local = _link_or_copy(src, fetched / f"{count[0]:03d}" / name)
        seen[str(local)] = url
        return local

    outputs = _Outputs(task, workdir)
    try:
        input_path = fetch(task["input_url"]) if task["input_url"] else fetched / "none"
        ctx = JobContext(
            function_name=task["function_name"],
            api=task["api"],
            input_path=input_path,
            params=task["params"],
            model_id=task.get("model_id"),
            workdir=scratch,
            new_output=outputs.new_output,
            fetch=fetch,
            threads=int(task.get("threads", 1)),
            input_url=task["input_url"] or "",
        )
        if task.get("injected_delay_s"):  # fault injection: a slow algorithm, for scheduling tests
            time.sleep(float(task["injected_delay_s"]))
        result = algorithms.load(task["function_name"])(ctx)
        return _commit(store, result, outputs)
    except AlgorithmError as err:
        return {"status": "Fail", "code": err.code, "message": _public(str(err), seen, outputs, workdir)}
    except Exception as err:  # the job fails with the reason; the traceback goes to the job log
        traceback.print_exc()
        message = _public(f"{type(err).__name__}: {err}", seen, outputs, workdir)
        return {"status": "Fail", "code": "InternalError", "message": message}


def _public(message: str, fetched: dict[str, str], outputs: _Outputs, workdir: Path) -> str:
    """``message`` as the user may see it: local copies named by their object URLs, no engine paths.

    A library's exception often quotes the file it failed on; the cloud would name the object.
    """
    names = {**fetched, **{str(t.path): t.url for t in outputs.targets}}
    for local in sorted(names, key=len, reverse=True):
        message = message.replace(local, names[local])
    return message.replace(str(workdir.resolve()), "").replace(str(workdir), "")


def _commit(store: Any, result: Any, outputs: _Outputs) -> dict[str, Any]:
    from airflow_iprod import catalog

    targets = list(result.outputs)
    urls = [t.url for t in targets]
    if len(set(urls)) != len(urls):
        return {
            "status": "Fail",
            "code": "InvalidParameter",
            "message": f"Output: several outputs expand to the same path {urls}; add a placeholder "
            "({sequenceId} or {resultType}) so each file gets its own name.",
        }
    files: list[str] = []
    for target in targets:
        if not Path(target.path).is_file():
            return {
                "status": "Fail",
                "code": "InternalError",
                "message": f"the algorithm did not write its output file for {target.url}",
            }
    for target in targets:
        bucket, key = catalog.split_oss_url(target.url, field="Output")
        store.put_file(bucket, key, Path(target.path))
        files.append(f"oss://{bucket}/{key}")
    return {
        "status": "Success",
        "result": json.dumps(result.result, ensure_ascii=False),
        "files": files,
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m airflow_iprod.local.worker <workdir>", file=sys.stderr)
        return 2
    workdir = Path(args[0])
    # The engine's pid from the environment, not getppid(): an engine killed while this process was
    # still starting would otherwise leave us watching init, forever.
    parent = int(os.environ.get(ENGINE_PID_ENV) or os.getppid())
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    outcome = run_task(workdir)
    write_json(workdir / OUTCOME_FILE, outcome)
    return 0


if __name__ == "__main__":
    sys.exit(main())
