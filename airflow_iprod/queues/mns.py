"""MNS for ``common.messaging``: ``MessageQueueTrigger(scheme="mns", mns_queue=..., conn_id=...)`` builds an
:class:`~airflow_iprod.triggers.mns_message.MnsMessageTrigger`, so a DAG can switch between queue services
by changing the scheme and its keyword arguments.

Listed under ``queues`` in the provider info; only ``common.messaging`` imports it, so importing its
base class at the top needs that provider (the ``messaging`` extra) only where it is used.
"""

from __future__ import annotations

from airflow.providers.common.messaging.providers.base_provider import BaseMessageQueueProvider

from airflow_iprod.triggers.mns_message import MnsMessageTrigger


class MnsMessageQueueProvider(BaseMessageQueueProvider):
    """Scheme ``mns``: the keyword arguments go to :class:`MnsMessageTrigger` as they are.

    The queue is ``mns_queue``, not ``queue``: ``MessageQueueTrigger`` keeps ``queue`` for its deprecated
    queue-URI form. Queue URIs are not matched: an ``mns://`` URI names an endpoint, and the endpoint and
    keys come from the connection.
    """

    scheme = "mns"

    def trigger_class(self) -> type[MnsMessageTrigger]:
        return MnsMessageTrigger
