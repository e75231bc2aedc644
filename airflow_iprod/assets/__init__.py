"""Job outputs as Airflow assets: the ``oss`` asset URI scheme (:mod:`.oss`) and the asset alias each
IProduction task records its output files through (:mod:`.outlets`).

Schedule a DAG on a task's outputs with ``schedule=output_alias("dag_id", "task_id")``.
"""

from __future__ import annotations

from airflow_iprod.assets.outlets import output_alias, output_alias_name

__all__ = ["output_alias", "output_alias_name"]
