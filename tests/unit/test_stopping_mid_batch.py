"""A query stopped in the middle of a ``foreachBatch`` (a continuous run's end, a stage's other flows when one fails)
stops quietly, as Spark's stop, not as a failure.

Spark tells a stop from a failure by matching the handler's error text against a regex of its own, which overflows
the thread's stack on a long text: the Py4J error of an interrupted Spark call, with its Java stack, killed every
such query's thread with a StackOverflowError and a thousand lines of output. ``streaming.stop_queries`` makes the
handler raise a short error that the regex recognises instead.
"""

from __future__ import annotations

import threading
import traceback

import pytest
from py4j.protocol import Py4JJavaError

from fitlake.parameters import CONTINUOUS
from fitlake.streaming import StoppedMidBatchError, StreamTarget, Trigger, for_each_batch, stop_queries
from tests.waiting import wait_for


def _spark_says_interrupted(spark, text: str) -> bool:  # noqa: ANN001
    """Spark's own decision (``StreamExecution.isInterruptionException``) on a handler error that reached the JVM
    as py4j delivers it: a Py4JException holding the Python traceback."""
    jvm = spark._jvm
    error = jvm.py4j.Py4JException(f"An exception was raised by the Python Proxy. Return Message: {text}")
    execution = jvm.org.apache.spark.sql.execution.streaming.runtime.StreamExecution
    return execution.isInterruptionException(error, spark._jsc.sc())


def _traceback_of(error: BaseException) -> str:
    try:
        raise error
    except BaseException:
        return traceback.format_exc()


def test_spark_reads_the_short_error_as_a_stop_and_overflows_on_an_interrupted_calls_long_one(spark):
    assert _spark_says_interrupted(spark, _traceback_of(StoppedMidBatchError("silver.heart_rate")))
    # What an interrupted Spark call raises in the handler: Py4J's text with the Java stack (here 200 frames).
    frames = "".join(f"\tat org.apache.spark.scheduler.DAGScheduler.run(DAGScheduler.scala:{n})\n" for n in range(200))
    long_text = (
        "py4j.protocol.Py4JJavaError: An error occurred while calling o123.saveAsTable.\n"
        f": org.apache.spark.SparkException: Job 7 cancelled part of cancelled job group\n{frames}"
        "Caused by: java.lang.InterruptedException\n"
    )
    with pytest.raises(Py4JJavaError, match="StackOverflowError"):
        _spark_says_interrupted(spark, long_text)


def test_a_query_stopped_inside_a_spark_call_of_its_handler_stops_as_stopped(spark, tmp_path):
    started, raised = threading.Event(), []

    def handle(batch, batch_id):  # noqa: ANN001, ARG001
        started.set()
        try:  # a Spark job that runs until the stop cancels it
            batch.sparkSession.range(0, 10**15, 1, 1).selectExpr("sum(id)").collect()
        except BaseException as error:
            raised.append(error)
            raise

    stream = spark.readStream.format("rate").option("rowsPerSecond", 1).load()
    target = StreamTarget("unused", f"file:{tmp_path / 'checkpoint'}", Trigger(CONTINUOUS, "1 second"), "stop_test")
    query = for_each_batch(stream, target, handle)
    try:
        wait_for(started.is_set, "a first batch", gone=lambda: None if query.isActive else "the query ended")
    finally:
        stop_queries([query])
    assert not query.isActive
    assert raised and isinstance(raised[0], Py4JJavaError)  # the stop did interrupt the handler's Spark call
    assert query.exception() is None
    assert query.status["message"] == "Stopped", query.status  # Spark's word for a stop it recognised
