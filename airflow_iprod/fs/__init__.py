"""fsspec filesystems the provider registers with Airflow (``get_provider_info()["filesystems"]``)."""
