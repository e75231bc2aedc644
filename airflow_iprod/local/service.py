"""The job service: what the local engine does, whichever API asked and however the request travelled.

It takes a validated ``SubmitRequest`` and queues a job; it finds and cancels jobs; it holds the media
assets. The catalog has already run every documented rule on the request; what is checked here is what
only this engine can know: the algorithm runs locally, the media ID and the input object exist and fit,
the output bucket exists. Refusals are ``service_errors`` exceptions; no HTTP here.
"""

from __future__ import annotations

from pathlib import Path

from airflow_iprod import catalog
from airflow_iprod.catalog import SubmitRequest
from airflow_iprod.local import algorithms
from airflow_iprod.local.algorithms.base import AlgorithmError, UnsupportedOption
from airflow_iprod.local.faults import Faults
from airflow_iprod.local.input_check import check_input, check_media
from airflow_iprod.local.job_store import Job, JobStore, new_id
from airflow_iprod.local.media_assets import MediaAssets
from airflow_iprod.local.objects import ObjectStore
from airflow_iprod.local.oss_errors import OssError
from airflow_iprod.local.scheduler import Scheduler
from airflow_iprod.local.service_errors import InvalidRequest, JobNotFound, NotAvailableLocally

DEFAULT_PRIORITY = 6  # the documented example; the cloud's default when no Priority is given
DEFAULT_PIPELINE = "default"


class JobService:
    def __init__(
        self,
        store: JobStore,
        objects: ObjectStore,
        scheduler: Scheduler,
        media: MediaAssets,
        faults: Faults,
        region: str,
    ) -> None:
        self.store = store
        self.objects = objects
        self.scheduler = scheduler
        self.media = media
        self.faults = faults
        self.region = region  # the cloud region the engine's public URLs name

    # -- jobs --------------------------------------------------------------------------------------

    def submit(self, req: SubmitRequest) -> str:
        """Queue the job ``req`` asks for; returns its JobId."""
        self._check_runs_locally(req)
        self._check_pipeline(req)
        input_url = self._resolve_input(req)
        self._check_media_params(req)
        self._check_output(req)
        job = Job(
            job_id=new_id(),
            api=req.api,
            function_name=req.function_name,
            request=req.to_wire(),
            params=req.params,
            input_url=input_url,
            output_template=req.output_template,
            pipeline_id=req.pipeline_id or DEFAULT_PIPELINE,
            priority=DEFAULT_PRIORITY if req.run_priority is None else req.run_priority,
        )
        self.store.add(job)
        self.scheduler.wake()
        return job.job_id

    def query(self, api: str, job_id: str) -> Job:
        self.faults.check_query(job_id)  # fault injection: a share of Query calls fail on purpose
        return self._job(api, job_id)

    def cancel(self, api: str, job_id: str) -> str | None:
        """Cancel a queued or running job; returns the status it had."""
        self._job(api, job_id)
        return self.scheduler.cancel(job_id)

    def _job(self, api: str, job_id: str) -> Job:
        job = self.store.get(job_id)
        if job is None or job.api != api:  # each API sees only its own jobs
            raise JobNotFound(job_id)
        return job

    # -- Submit checks only this engine can make ---------------------------------------------------

    @staticmethod
    def _check_runs_locally(req: SubmitRequest) -> None:
        name = req.function_name
        if not algorithms.is_available(name):
            available = [n for n in catalog.names(req.api) if algorithms.is_available(n)]
            raise NotAvailableLocally(
                f"FunctionName={name} is not available in the local engine; available: {available}"
            )
        try:
            algorithms.check_params(name, req.params)
        except UnsupportedOption as err:
            raise NotAvailableLocally(f"{err} (the cloud service accepts it)") from None
        except AlgorithmError as err:
            raise InvalidRequest(str(err)) from None

    def _check_pipeline(self, req: SubmitRequest) -> None:
        """A PipelineId must name a pipeline of this engine: the default one or one configured
        (``EngineConfig.pipelines``), as the cloud knows only the pipelines created in the console."""
        if not req.pipeline_id:
            return
        known = sorted({DEFAULT_PIPELINE, *self.scheduler.config.pipelines})
        if req.pipeline_id not in known:
            field = "ScheduleConfig.PipelineId" if req.api == catalog.ICE else "PipelineId"
            raise InvalidRequest(
                f"{field}={req.pipeline_id!r} is not valid: a pipeline of this engine, one of {known} "
                "(empty for the default pipeline; `airflow-iprod local start --pipeline ID` adds one)"
            )

    def _object_path(self, url: str, field: str, shown: str) -> Path:
        bucket, key = catalog.split_oss_url(url, field=field)
        try:
            return self.objects.path_for(bucket, key)
        except OssError as err:
            raise InvalidRequest(
                f"{field}={shown!r} is not valid: no such object in the "
                f"local object store ({err.code}: bucket {bucket!r}, key {key!r}); upload it first."
            ) from None

    def _check_media_params(self, req: SubmitRequest) -> None:
        """Secondary inputs (AudioMixing's track, a green-screen background) exist and are the right
        kind, as Input is; the worker would otherwise fail them after queueing."""
        for field, url, kind in req.spec.media_params(req.params):
            try:
                catalog.split_oss_url(url, field=field)
            except catalog.ValidationError:
                raise NotAvailableLocally(
                    f"{field}={url!r}: the local engine reads only objects of its own store (an oss:// "
                    "URL, or http(s)://BUCKET.oss-REGION.aliyuncs.com/KEY); the cloud fetches other URLs"
                ) from None
            check_media(self._object_path(url, field, url), url, field, kind, req.function_name)

    def _resolve_input(self, req: SubmitRequest) -> str:
        """The input's ``oss://bucket/key`` (a media ID resolved), after checking the object fits."""
        given, field = req.input, req.input_field
        if not given:
            return ""
        url = given
        if req.input_type == "Media":
            asset = self.media.lookup(given)
            if asset is None:
                raise InvalidRequest(
                    f"{field}={given!r} is not valid: the ID of a registered media asset (RegisterMediaInfo)"
                )
            url = asset.input_url
        bucket, key = catalog.split_oss_url(url, field=field)
        path = self._object_path(url, field, given)
        check_input(req.spec, path, given, field)
        return f"oss://{bucket}/{key}"

    def _check_output(self, req: SubmitRequest) -> None:
        if req.output_type == "Media" and req.output and self.media.lookup(req.output) is None:
            raise InvalidRequest(
                f"Output.Media={req.output!r} is not valid: the ID of a registered media asset, or empty "
                "to create a new asset"
            )
        template, field = req.output_template, req.output_field
        if not template:
            return
        bucket, _ = catalog.split_oss_url(template, field=field)
        try:
            self.objects.bucket(bucket)
        except OssError:
            raise InvalidRequest(
                f"{field}={template!r} is not valid: bucket {bucket!r} does not exist in the local object "
                "store (create it with PutBucket first)"
            ) from None
