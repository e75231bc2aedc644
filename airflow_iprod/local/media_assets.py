"""ICE media assets: inputs registered with RegisterMediaInfo and the outputs of Output.Type=Media jobs.

Assets live in the job store (one SQLite file holds jobs and assets); their files in the object store.
The URLs users fetch files with (FileUrl, OutputUrls) point at the engine (``download_urls``).
"""

from __future__ import annotations

import time

from airflow_iprod import catalog
from airflow_iprod.local.download_urls import DEFAULT_EXPIRES_S, DownloadUrls
from airflow_iprod.local.job_store import Job, JobStore, MediaAsset, new_id
from airflow_iprod.local.objects import ObjectStore
from airflow_iprod.local.oss_errors import OssError
from airflow_iprod.local.service_errors import InvalidRequest, MediaNotFound

_AUDIO = frozenset({"mp3", "wav", "flac", "aac", "m4a", "ogg", "opus", "amr"})
_IMAGE = frozenset({"png", "jpg", "jpeg", "gif", "bmp", "webp"})
_TEXT = frozenset({"srt", "json", "txt", "vtt"})


def guess_media_type(key: str) -> str:
    """The asset's MediaType guessed from the object's extension, as the cloud does."""
    ext = key.rsplit(".", 1)[-1].lower() if "." in key else ""
    if ext in _AUDIO:
        return "audio"
    if ext in _IMAGE:
        return "image"
    if ext in _TEXT:
        return "text"
    return "video"


class MediaAssets:
    def __init__(self, store: JobStore, objects: ObjectStore, urls: DownloadUrls) -> None:
        self.store = store
        self.objects = objects
        self.urls = urls

    def download_url(self, oss_url: str, expires_s: int = DEFAULT_EXPIRES_S) -> str:
        """Where a user fetches ``oss://bucket/key`` from this engine (presigned, ``expires_s`` long)."""
        return self.urls.for_object(oss_url, expires_s)

    def register(
        self,
        input_url: str,
        *,
        overwrite: bool = False,
        media_type: str | None = None,
        title: str | None = None,
        description: str | None = None,
        business_type: str | None = None,
        user_data: str | None = None,
        reference_id: str | None = None,
    ) -> str:
        """The MediaId of a new asset for the object at ``input_url`` (or of the one registered for it)."""
        bucket, key = catalog.split_oss_url(input_url, field="InputURL")
        try:
            self.objects.head(bucket, key)
        except OssError as err:
            raise InvalidRequest(
                f"InputURL={input_url!r} is not valid: no such object in the local object store ({err.code})"
            ) from None
        canonical = f"oss://{bucket}/{key}"
        if not overwrite:
            existing = self.store.find_media_by_url(canonical)
            if existing is not None:  # the cloud answers the existing asset for a URL registered twice
                return existing.media_id
        asset = MediaAsset(
            media_id=new_id(),
            input_url=canonical,
            media_type=media_type or guess_media_type(key),
            title=title or key.rsplit("/", 1)[-1],
            description=description,
            biz="IMS",
            business_type=business_type,
            user_data=user_data,
            reference_id=reference_id,
        )
        self.store.add_media(asset)
        return asset.media_id

    def lookup(self, media_id: str) -> MediaAsset | None:
        return self.store.get_media(media_id)

    def get(self, media_id: str) -> MediaAsset:
        asset = self.store.get_media(media_id)
        if asset is None:
            raise MediaNotFound(media_id)
        return asset

    def find(self, input_url: str) -> MediaAsset:
        """The asset registered for the object at ``input_url`` (any of its URL forms)."""
        bucket, key = catalog.split_oss_url(input_url, field="InputURL")
        asset = self.store.find_media_by_url(f"oss://{bucket}/{key}")
        if asset is None:
            raise MediaNotFound(input_url)
        return asset

    def file_size(self, asset: MediaAsset) -> int | None:
        """Bytes of the asset's file; None once the object is gone."""
        bucket, key = catalog.split_oss_url(asset.input_url)
        try:
            return self.objects.head(bucket, key).size
        except OssError:
            return None

    def register_outputs(self, job: Job, files: list[str]) -> list[str]:
        """Output.Type=Media: bind the first output to the given asset (or a new one), one asset per file.

        Called by the scheduler when a job succeeds; returns the OutputMediaIds.
        """
        output = job.request.get("Output")
        if job.api != catalog.ICE or not isinstance(output, dict) or output.get("Type") != "Media":
            return []  # MPS has flat OSS outputs only
        biz = output.get("Biz") or self._input_biz(job) or "IMS"
        ids: list[str] = []
        for i, url in enumerate(files):
            if i == 0 and output.get("Media"):
                self.store.update_media_url(output["Media"], url)
                ids.append(output["Media"])
                continue
            key = url.split("/", 3)[-1]
            asset = MediaAsset(
                media_id=new_id(),
                input_url=url,
                media_type=guess_media_type(key),
                title=key.rsplit("/", 1)[-1],
                biz=biz,
                create_time=time.time(),
            )
            self.store.add_media(asset)
            ids.append(asset.media_id)
        return ids

    def _input_biz(self, job: Job) -> str | None:
        inp = job.request.get("Input") or {}
        if inp.get("Type") == "Media" and inp.get("Media"):
            asset = self.store.get_media(inp["Media"])
            return asset.biz if asset else None
        return None
