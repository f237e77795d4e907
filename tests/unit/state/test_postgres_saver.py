"""Which errors make the Postgres checkpointer run an operation once more."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors
from psycopg_pool import PoolClosed, PoolTimeout

from state.postgres_saver import connection_lost


@pytest.mark.parametrize(
    "error",
    [
        errors.AdminShutdown("terminating connection due to administrator command"),
        errors.ConnectionFailure("connection failure"),
        psycopg.OperationalError("server closed the connection unexpectedly"),
        psycopg.OperationalError("consuming input failed: EOF detected"),
    ],
)
def test_a_lost_connection_is_tried_once_more(error):
    assert connection_lost(error)


@pytest.mark.parametrize(
    "error",
    [
        errors.QueryCanceled("canceling statement due to statement timeout"),
        errors.DiskFull("could not extend file"),
        errors.UniqueViolation("duplicate key"),
        ValueError("not a database error"),
        PoolTimeout("couldn't get a connection after 2.00 sec"),  # the database is down
        PoolClosed("the pool is closed"),
    ],
)
def test_any_other_error_is_not(error):
    assert not connection_lost(error)
