"""IProductionJobOperator: submit one IProduction job (ICE or MPS), wait for it, return its outputs."""

from __future__ import annotations

import contextlib
import inspect
import json
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_iprod import catalog
from airflow_iprod.errors import IProductionError
from airflow_iprod.job_outcome import job_result, state_from_event
from airflow_iprod.job_state import JobState
from airflow_iprod.lineage import JobLineageMixin
from airflow_iprod.links import IProductionConsoleLink
from airflow_iprod.triggers.poll_plan import worth_polling_before

try:  # Airflow 3.3+: the JobId survives worker crashes in the task state store
    from airflow.sdk import ResumableJobMixin
except ImportError:  # older 3.x: the compat stand-in submits afresh on every try
    from airflow.providers.common.compat.sdk import ResumableJobMixin  # type: ignore[no-redef]

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_iprod.hooks.iproduction import IProductionHook

DEFAULT_CONN_ID = "alibabacloud_default"
# Valid stand-ins used to validate a task at DAG parse time while its input is still an XComArg or
# a template; the real values are validated again after rendering, before any network call.
_STAND_IN_INPUT = "oss://stand-in-bucket/stand-in-input"
_STAND_IN_MEDIA_ID = "stand-in-media-id"
# In-worker Queries before deferring (seconds to wait before each): fast jobs finish without a deferral.
PRE_DEFER_POLLS_S = (1.0, 2.0)


def is_literal(value: Any) -> bool:
    """True when ``value`` is known at parse time (no Jinja, no XComArg or other lazy object)."""
    if value is None or isinstance(value, (bool, int, float)):
        return True
    if isinstance(value, str):
        return "{{" not in value and "{%" not in value
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and is_literal(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(is_literal(v) for v in value)
    return False


def resolve_input(value: Any, input_type: str = "OSS") -> str:
    """Accept an OSS URL / media ID, or an upstream IProduction result dict (``upstream.output``).

    A result dict gives its single output file; when the upstream job wrote several files, pick one
    with ``upstream.output["Outputs"][i]`` (order as the service listed them; for MPS, by ``{sequenceId}``).
    """
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and len(value) == 1 and isinstance(value[0], str):
        return value[0]
    if isinstance(value, Mapping) and "JobId" in value:
        choices = list(value.get("OutputMediaIds") or []) if input_type == "Media" else []
        choices = choices or list(value.get("Outputs") or [])
        if len(choices) == 1:
            return choices[0]
        job = f"{value.get('FunctionName')} job {value.get('JobId')}"
        if not choices:
            raise catalog.ValidationError("input", job, "an upstream job that wrote an output file")
        raise catalog.ValidationError(
            "input",
            job,
            f"one location; the upstream job wrote {len(choices)} files {choices}: "
            "pass upstream.output['Outputs'][i] to pick one",
        )
    raise catalog.ValidationError(
        "input", value, "an OSS URL, a media ID, or an upstream IProduction operator's .output"
    )


# What the operator accepts where it is wider than the request's own field (an upstream result dict).
_KEYWORD_TYPES = {"input": "str | Mapping[str, Any] | None"}


def _with_submit_keywords(init: Any) -> inspect.Signature:
    """``init``'s signature with the catalog's submit fields as keywords after ``function_name``. Set
    in the class body, before Airflow's metaclass reads it: its mapping checks (``partial``/``expand``),
    the generated per-algorithm operators, their stub and ``help()`` all see the fields."""
    sig = inspect.signature(init)
    params = list(sig.parameters.values())
    at = next(i for i, p in enumerate(params) if p.name == "function_name") + 1
    submit = [
        inspect.Parameter(
            f.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=f.default,
            annotation=_KEYWORD_TYPES.get(f.name, f.annotation),
        )
        for f in catalog.request_fields()
    ]
    return sig.replace(parameters=[*params[:at], *submit, *params[at:]])


class IProductionJobOperator(JobLineageMixin, ResumableJobMixin, BaseOperator):
    """Run one Alibaba Cloud intelligent-production job and return its normalised result.

    :param function_name: the algorithm (``catalog.names(api)``), e.g. ``"SpeechDenoise"``.
    :param input: OSS URL (``oss://bucket/key``), media ID (with ``input_type="Media"``), or an
        upstream IProduction operator's ``.output`` (its single output file is used).
    :param output: output OSS URL; may hold ``{source}``, ``{timestamp}``, ``{sequenceId}``,
        ``{resultType}`` placeholders (required ones per algorithm are enforced).
    :param api: ``"ice"`` (ICE 2020-11-09, default) or ``"mts"`` (MPS 2014-06-18).
    :param conn_id: an ``alibaba_cloud`` connection (see IProductionHook for its extras).
    :param deferrable: wait in the triggerer (default) instead of polling in the worker.
    :param wait_for_completion: if False, return right after submitting (Status Queuing).
    :param poll_interval: seconds between status queries.
    :param timeout: seconds to wait for the job (None: no limit). On timeout the task fails, the job
        keeps running, and a retry re-attaches to it.
    :param cancel_on_kill: cancel the job when the task is killed (ICE; MPS has no Cancel API).
    :param expected_duration: your estimate of the job's run time in seconds. By default it is
        estimated from the algorithm's benchmarked speed and the input's duration (read from its
        header); the trigger polls sparsely until then and every ``poll_interval`` after it.
    :param wait_mode: ``"poll"`` (default) or ``"callback"``: the triggerer waits for the job's completion
        message on an MNS queue (shared by all its triggers), confirms it with one Query, and polls only
        every ``[iprod] callback_poll_interval`` seconds (default 300) as a safety net. MPS jobs get
        ``NotifyUrl`` set to the queue unless given; for ICE the account's event callback
        (``SetEventCallback``) must point at the queue, checked before submitting.
    :param callback_queue: the MNS queue of callback mode (default: the connection extra
        ``callback_queue``); its endpoint is the ``mns_endpoint`` extra (a local engine's own by default).

    Every other field of SubmitIProductionJob is a keyword too (``job_params``, ``input_type``,
    ``output_type``, ``output_biz``, ``output_url``, ``name``, ``model_id`` ...): the list, what each
    API calls it and what is allowed is ``catalog.request_fields()`` (``SubmitRequest``), and
    ``airflow-iprod submit --help`` prints it.

    Returns a JSON-able dict: ``JobId``, ``Status``, ``FunctionName``, ``Result`` (parsed),
    ``OutputFiles``, ``OutputUrls``, ``OutputMediaIds``, ``Outputs`` (every output as ``oss://``; MPS
    lists no files, so there they are found once, on completion, by listing the output template's
    prefix: see :meth:`IProductionHook.resolve_outputs`) and ``Output`` (the single output, or None
    when there are several).
    """

    template_fields: Sequence[str] = (
        "function_name",
        *(f.operator_attr for f in catalog.request_fields()),
        "conn_id",
        "callback_queue",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        f.operator_attr: "json" for f in catalog.request_fields() if f.json
    }
    ui_color = "#ff6a00"
    operator_extra_links = (IProductionConsoleLink(),)
    external_id_key = "iprod_job_id"  # task state store key; renaming breaks in-flight retries

    def __init__(
        self,
        *,
        function_name: str,
        api: str = catalog.ICE,
        conn_id: str = DEFAULT_CONN_ID,
        deferrable: bool = True,
        wait_for_completion: bool = True,
        poll_interval: float = 10.0,
        timeout: float | None = 6 * 3600,
        cancel_on_kill: bool = True,
        expected_duration: float | None = None,
        wait_mode: str = "poll",
        callback_queue: str | None = None,
        **kwargs: Any,
    ) -> None:
        # The submit fields (input, output, job_params ...) come from the catalog's one definition.
        submit = {f.name: kwargs.pop(f.name, f.default) for f in catalog.request_fields()}
        super().__init__(**kwargs)
        api = catalog.canonical_api(api)
        if poll_interval <= 0:
            raise catalog.ValidationError("poll_interval", poll_interval, "a number of seconds > 0")
        if timeout is not None and timeout <= 0:
            raise catalog.ValidationError("timeout", timeout, "a number of seconds > 0, or None")
        if expected_duration is not None and not expected_duration > 0:
            raise catalog.ValidationError(
                "expected_duration", expected_duration, "a number of seconds > 0, or None"
            )
        self.function_name = function_name
        for field in catalog.request_fields():  # ``self.output`` is BaseOperator's XComArg: output_media
            setattr(self, field.operator_attr, submit[field.name])
        self.api = api
        self.conn_id = conn_id
        self.deferrable = deferrable
        self.wait_for_completion = wait_for_completion
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.cancel_on_kill = cancel_on_kill
        self.expected_duration = expected_duration
        if wait_mode != "poll":  # checked here: a typo fails at parse time
            from airflow_iprod.triggers.mns_setup import check_wait_mode

            check_wait_mode(wait_mode, deferrable)
        self.wait_mode = wait_mode
        self.callback_queue = callback_queue
        self._callback_queue: str | None = None  # resolved at execute (argument or connection extra)
        self._job_id: str | None = None
        self._final: JobState | None = None
        self._submitted_at: float | None = None  # epoch seconds; bounds MPS output lookup
        self._result: dict[str, Any] | None = None
        self._request: catalog.SubmitRequest | None = None
        # JobParams values given as templates: rendered to text, read back as JSON at execute ("5" -> 5).
        self._templated_params = (
            {k for k, v in self.job_params.items() if not is_literal(v)}
            if isinstance(self.job_params, Mapping)
            else set()
        )
        self._validate_literal_values()

    __init__.__signature__ = _with_submit_keywords(__init__)  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ validation

    def _request_fields(self, *, stand_ins: bool = False) -> dict[str, Any]:
        """The submit fields; with ``stand_ins`` unknown (templated / XComArg) values are replaced by
        valid stand-ins so everything known at parse time can be checked."""
        fields = {f.name: getattr(self, f.operator_attr) for f in catalog.request_fields()}
        if stand_ins:
            spec = catalog.spec_for(self.function_name, self.api)
            for key, value in fields.items():
                if is_literal(value):
                    continue
                if key == "input":
                    fields[key] = _STAND_IN_MEDIA_ID if fields["input_type"] == "Media" else _STAND_IN_INPUT
                elif key in ("output", "output_url"):
                    hole = "{" + spec.placeholder + "}" if spec.placeholder else ""
                    fields[key] = f"oss://stand-in-bucket/stand-in-output{hole}{spec.output_ext or ''}"
                else:
                    fields[key] = None
        if isinstance(fields["job_params"], Mapping) and self._templated_params:
            fields["job_params"] = self._params_with_templates(fields["job_params"], stand_ins=stand_ins)
        if fields["input"] is not None:
            fields["input"] = resolve_input(fields["input"], fields["input_type"])
        return fields

    def _params_with_templates(self, params: Mapping[str, Any], *, stand_ins: bool) -> dict[str, Any]:
        """At parse time the templated values are left out (their defaults stand in); after rendering,
        a non-text field a template turned into text is read as JSON: ``"{{ params.fps }}"`` gives 5."""
        spec = catalog.spec_for(self.function_name, self.api)
        out = dict(params)
        for key in self._templated_params & set(out):
            param = spec.param(key)
            if stand_ins:
                del out[key]
            elif isinstance(out[key], str) and param is not None and param.type != "string":
                with contextlib.suppress(ValueError):  # not JSON: left as given, the catalog says why
                    out[key] = json.loads(out[key])
        return out

    def _build_request(self, fields: dict[str, Any]) -> catalog.SubmitRequest:
        return catalog.SubmitRequest(api=self.api, function_name=self.function_name, **fields)

    def _validate_literal_values(self) -> None:
        """Fail at DAG parse time on values already known to be wrong."""
        if not (is_literal(self.function_name) and is_literal(self.api)):
            return
        spec = catalog.spec_for(self.function_name, self.api)
        if isinstance(self.job_params, Mapping):
            required = {p.name for p in spec.params_for(self.api) if p.required}
            if required & self._templated_params:
                return  # a required value is still a template: checked after rendering
        elif not is_literal(self.job_params):
            return  # JobParams as one template: all is checked after rendering
        self._build_request(self._request_fields(stand_ins=True))

    # ------------------------------------------------------------------ hook

    @property
    def hook(self) -> IProductionHook:
        from airflow_iprod.hooks.iproduction import IProductionHook

        hook = getattr(self, "_hook", None)
        if hook is None:
            hook = self._hook = IProductionHook(self.conn_id, api=self.api)
        return hook

    # ------------------------------------------------------------------ ResumableJobMixin

    def execute(self, context: Context) -> Any:
        # Validate the rendered request before anything touches the network.
        self._request = self._build_request(self._request_fields())
        if self.wait_mode == "callback" and self.deferrable and self.wait_for_completion:
            self._request = self._callback_request(self._request)
        return self.execute_resumable(context)

    def _callback_request(self, request: catalog.SubmitRequest) -> catalog.SubmitRequest:
        """Callback mode, before anything is submitted: the queue and its endpoint must be known, an MPS
        job names the queue in NotifyUrl (unless the task gave one), ICE's event callback must use it."""
        import dataclasses

        from airflow_iprod.triggers import mns_setup

        queue = self._callback_queue = mns_setup.callback_queue(self.hook, self.callback_queue)
        settings = self.hook.settings()
        mns_setup.queue_address(settings, queue)  # no endpoint or keys to read it with: fail now
        if self.api == catalog.MTS:
            if request.notify_url is None:
                return dataclasses.replace(request, notify_url=mns_setup.notify_url(settings, queue))
        else:
            mns_setup.check_ice_callback(self.hook, queue)
        return request

    def submit_job(self, context: Context) -> str:
        self._submitted_at = time.time()
        if self._request is None:
            self._request = self._build_request(self._request_fields())
        job_id = self.hook.submit(self._request)
        self._job_id = job_id
        self._remember_submit_time(context)
        self.log.info("Submitted %s job %s on %s", self.function_name, job_id, self.api.upper())
        self._publish(context, job_id)
        return job_id

    def get_job_status(self, external_id: Any, context: Context) -> str:
        state = self.hook.query(str(external_id))
        self._final = state if state.is_terminal else None
        return state.status

    def is_job_active(self, status: str) -> bool:
        # Unknown words count as active: the wait's timeout still bounds them.
        return status not in catalog.TERMINAL_STATUSES

    def is_job_succeeded(self, status: str) -> bool:
        return status == "Success"

    def poll_until_complete(  # type: ignore[override]
        self, external_id: Any, context: Context
    ) -> dict[str, Any] | None:
        # The mixin returns this value directly when it re-attaches to a running job, so it is the
        # task's result too (on a fresh submit the mixin calls get_job_result afterwards). The mixin
        # annotates it as None although its execute() returns it: hence the override note.
        job_id = str(external_id)
        self._job_id = job_id
        self._publish(context, job_id)
        if self._submitted_at is None:  # re-attached: the first try may have recorded it
            self._submitted_at = self._recall_submit_time(context)
        if not self.wait_for_completion:
            return self.get_job_result(job_id, context)
        if self.deferrable:
            from airflow_iprod.triggers.iproduction import IProductionJobTrigger

            expected_s = self._expected_seconds()
            early = self._poll_before_deferring(job_id, expected_s)
            if early is not None:  # done already: finish here, no deferral, no triggerer round trip
                self._final = early
                return self._finish(early)
            self.defer(
                trigger=IProductionJobTrigger(
                    job_id=job_id,
                    conn_id=self.conn_id,
                    api=self.api,
                    poll_interval=self.poll_interval,
                    timeout=self.timeout,
                    cancel_on_kill=self.cancel_on_kill,
                    submitted_at=self._submitted_at,
                    expected_s=expected_s,
                    wait_mode=self.wait_mode if self._callback_queue else "poll",
                    callback_queue=self._callback_queue,
                ),
                method_name="execute_complete",
                kwargs={"submitted_at": self._submitted_at},
            )
        self._final = self._poll_in_worker(job_id)
        return self._finish(self._final)

    def get_job_result(self, external_id: Any, context: Context) -> dict[str, Any]:
        job_id = str(external_id)
        self._publish(context, job_id)
        if self._result is not None and self._result["JobId"] == job_id:
            return self._result  # the fresh-submit path asks again after poll_until_complete
        if self._submitted_at is None:  # a retry finding the job already done
            self._submitted_at = self._recall_submit_time(context)
        state = self._final if self._final and self._final.job_id == job_id else self.hook.query(job_id)
        return self._finish(state)

    def _finish(self, state: JobState) -> dict[str, Any]:
        """The one completion path, shared with the sensor: raise on failure, find MPS outputs once."""
        self._result = job_result(self.hook, state, self._submitted_at)
        return self._result

    # The submit time is kept next to the JobId, so a re-attached try still knows the job's lifetime.
    _SUBMITTED_AT_KEY = "iprod_submitted_at"

    def _remember_submit_time(self, context: Context) -> None:
        store = context.get("task_state_store")
        if store is not None:
            try:
                store.set(self._SUBMITTED_AT_KEY, self._submitted_at)
            except Exception as err:  # only a lookup bound; never fail the job for it
                self.log.debug("Could not store the submit time: %s", err)

    def _recall_submit_time(self, context: Context) -> float | None:
        store = context.get("task_state_store")
        try:
            value = store.get(self._SUBMITTED_AT_KEY) if store is not None else None
        except Exception:
            return None
        return float(value) if isinstance(value, (int, float)) else None

    # ------------------------------------------------------------------ waiting

    def _expected_seconds(self) -> float | None:
        """The job's expected run time (the algorithm's benchmarked speed times the input's duration),
        which tells the trigger when polling is worth it; None when unknown."""
        if self.expected_duration is not None:
            return float(self.expected_duration)
        from airflow_iprod.catalog.speeds import expected_seconds
        from airflow_iprod.media_probe import input_seconds

        media_s = input_seconds(self.hook, self._request) if self._request is not None else None
        return expected_seconds(self.function_name, media_s)

    def _poll_before_deferring(self, job_id: str, expected_s: float | None) -> JobState | None:
        """A fast job is often done within seconds: a couple of short polls here finish it in the worker.

        Deferring a task whose job has already ended is what exposes Airflow's resume race (the
        triggerer fires before the worker has left, and the scheduler may mark the task up_for_retry).
        These Queries are the worker's own, outside the triggerer's budget. Skipped for jobs that cannot
        be done that soon."""
        if not worth_polling_before(expected_s, sum(PRE_DEFER_POLLS_S)):
            return None
        for delay in PRE_DEFER_POLLS_S:
            time.sleep(delay)
            try:
                state = self.hook.query(job_id, retries=0)
            except IProductionError as err:
                if not err.retriable:
                    raise
                continue
            if state.is_terminal:
                self.log.info("Job %s finished before the task deferred: %s", job_id, state.raw_status)
                return state
        return None

    def _poll_in_worker(self, job_id: str) -> JobState:
        state, finished = self.hook.wait(
            job_id,
            timeout=self.timeout,
            interval=self.poll_interval,
            on_status=lambda s: self.log.info("Job %s is %s", job_id, s.raw_status),
            on_transient=lambda err: self.log.warning("Job %s: transient error %s; polling on", job_id, err),
        )
        if not finished or state is None:
            raise IProductionError(
                f"job did not finish within {self.timeout:g} s; it is still running and a retry "
                "of this task re-attaches to it",
                code="WaitTimeout",
                job_id=job_id,
            )
        return state

    def execute_complete(
        self, context: Context, event: dict[str, Any], submitted_at: float | None = None
    ) -> dict[str, Any]:
        """Resume after the trigger fired: return the result or raise with the service's reason."""
        job_id = event.get("job_id")
        state = state_from_event(event, job_id, timeout_hint="; a retry of this task re-attaches to it")
        # dag.test() drops defer kwargs (the triggerer keeps them): the state store is the backup
        self._submitted_at = submitted_at if submitted_at else self._recall_submit_time(context)
        result = self._finish(state)
        self.log.info("%s", event.get("message"))
        return result

    def _publish(self, context: Context, job_id: str) -> None:
        """Console link + JobId in XCom (cleared on each new try, so re-published on re-attach)."""
        IProductionConsoleLink.persist(context, job_id=job_id, hook=self.hook)
        try:
            context["ti"].xcom_push(key="iprod_job_id", value=job_id)
        except Exception as err:  # only a convenience for downstream tasks; never fail the job for it
            self.log.warning("Could not push the JobId of job %s to XCom: %s", job_id, err)

    def on_kill(self) -> None:
        """Worker-side kill while polling (non-deferrable): cancel the job if asked to."""
        if not (self.cancel_on_kill and self._job_id):
            return
        if not self.hook.can_cancel:
            self.log.warning("Job %s runs on MPS, which has no Cancel API; it keeps running", self._job_id)
            return
        try:
            self.hook.cancel(self._job_id)
            self.log.info("Cancelled IProduction job %s", self._job_id)
        except IProductionError as err:
            self.log.warning("Could not cancel job %s: %s", self._job_id, err)
