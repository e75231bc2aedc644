"""IProductionJobSensor: wait for a job that was submitted elsewhere (another DAG, a service, by hand)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseSensorOperator

from airflow_iprod import catalog
from airflow_iprod.errors import IProductionError
from airflow_iprod.job_outcome import job_result, raise_if_failed, state_from_event
from airflow_iprod.job_state import JobState
from airflow_iprod.links import IProductionConsoleLink

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_iprod.hooks.iproduction import IProductionHook


class IProductionJobSensor(BaseSensorOperator):
    """Succeed when IProduction job ``job_id`` succeeds; fail when it fails.

    Deferrable by default (waits in the triggerer). Returns the same dict as IProductionJobOperator.
    Never cancels the job: this task does not own it.

    ``wait_mode="callback"`` waits on the MNS queue ``callback_queue`` (default: the connection extra)
    as :class:`~airflow_iprod.operators.iproduction.IProductionJobOperator` does; the job must tell that
    queue when it ends (MPS: submitted with its NotifyUrl; ICE: the account's event callback), or it is
    noticed by the safety-net poll every ``[iprod] callback_poll_interval`` seconds.
    """

    template_fields: Sequence[str] = ("job_id", "conn_id", "callback_queue")
    operator_extra_links = (IProductionConsoleLink(),)
    ui_color = "#ffb37a"

    def __init__(
        self,
        *,
        job_id: str,
        api: str = catalog.ICE,
        conn_id: str = "alibabacloud_default",
        deferrable: bool = True,
        wait_mode: str = "poll",
        callback_queue: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if wait_mode != "poll":
            from airflow_iprod.triggers.mns_setup import check_wait_mode

            check_wait_mode(wait_mode, deferrable)
        self.wait_mode = wait_mode
        self.callback_queue = callback_queue
        api = catalog.canonical_api(api)
        self.job_id = job_id
        self.api = api
        self.conn_id = conn_id
        self.deferrable = deferrable
        self._state: JobState | None = None

    @property
    def hook(self) -> IProductionHook:
        from airflow_iprod.hooks.iproduction import IProductionHook

        return IProductionHook(self.conn_id, api=self.api)

    def execute(self, context: Context) -> Any:
        self._publish(context)
        if not self.deferrable:
            super().execute(context)
            return self._result(self._state) if self._state else None
        from airflow_iprod.triggers.iproduction import IProductionJobTrigger

        queue = None
        if self.wait_mode == "callback":
            from airflow_iprod.triggers import mns_setup

            hook = self.hook
            queue = mns_setup.callback_queue(hook, self.callback_queue)
            mns_setup.queue_address(hook.settings(), queue)  # no endpoint or keys to read it with: fail now
        self.defer(
            trigger=IProductionJobTrigger(
                job_id=self.job_id,
                conn_id=self.conn_id,
                api=self.api,
                poll_interval=self.poke_interval,
                end_time=time.time() + self.timeout if self.timeout else None,
                cancel_on_kill=False,
                wait_mode=self.wait_mode,
                callback_queue=queue,
            ),
            method_name="execute_complete",
        )

    def poke(self, context: Context) -> bool:
        try:
            state = self.hook.query(self.job_id)
        except IProductionError as err:
            if err.retriable:
                self.log.warning("Job %s: transient error %s; poking again later", self.job_id, err)
                return False
            raise
        raise_if_failed(state)
        self._state = state
        return state.is_success

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        return self._result(state_from_event(event, self.job_id))

    def _result(self, state: JobState) -> dict[str, Any]:
        # MPS lists no output files: job_result finds them once, now (the submit time is unknown here)
        return job_result(self.hook, state)

    def _publish(self, context: Context) -> None:
        IProductionConsoleLink.persist(context, job_id=self.job_id, hook=self.hook)
