"""OSS error codes as the object API answers them (status, code, default message)."""

from __future__ import annotations


class OssError(Exception):
    """An error the object API answers as OSS's ``<Error>`` XML body with the given HTTP status.

    ``extra`` holds additional elements OSS puts in some errors (``BucketName``, ``Key``, ``StringToSign``).
    """

    def __init__(self, status: int, code: str, message: str, **extra: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


def no_such_bucket(bucket: str) -> OssError:
    return OssError(404, "NoSuchBucket", "The specified bucket does not exist.", BucketName=bucket)


def no_such_key(key: str) -> OssError:
    return OssError(404, "NoSuchKey", "The specified key does not exist.", Key=key)


def invalid_argument(name: str, value: str, allowed: str) -> OssError:
    return OssError(
        400,
        "InvalidArgument",
        f"Invalid argument {name}={value!r}: {allowed}.",
        ArgumentName=name,
        ArgumentValue=value,
    )


def invalid_object_name(key: str, why: str) -> OssError:
    return OssError(400, "InvalidObjectName", f"The specified object name is not valid: {why}.", Key=key)


def invalid_bucket_name(bucket: str) -> OssError:
    return OssError(
        400,
        "InvalidBucketName",
        "The specified bucket is not valid: a bucket name has 3 to 63 characters, only lowercase letters, "
        "digits and hyphens, and starts and ends with a letter or digit.",
        BucketName=bucket,
    )


def not_served(operation: str, why: str = "the local engine does not imitate this OSS feature") -> OssError:
    """501 NotImplemented for an OSS operation (or header) the engine deliberately does not serve."""
    return OssError(
        501,
        "NotImplemented",
        f"{operation} is not served by the airflow-iprod local engine: {why} (the README's "
        "'Client conformance' section lists what it serves).",
    )
