"""The Kafka source path: the ``[kafka]`` settings (``settings``) and the sample-set publisher (``producer``).

The streaming read itself lives with the other streaming I/O (``fitlake.streaming``, ``fitlake.pipeline.bronze``)
and the local broker with the local runtime (``fitlake.local.kafka``).
"""
