"""Every problem with a Dask scheduler address is a one-paragraph message within CONNECT_TIMEOUT seconds: real
sockets (a closed port, a port that accepts and stays silent, one that answers something else, an HTTP server),
malformed and empty addresses; an address implies the dask engine, another engine with it is refused."""

from __future__ import annotations

import http.server
import re
import socket
import threading
import time

import numpy as np
import pytest

import gradfit
from gradfit.engines.dask import CONNECT_TIMEOUT
from gradfit.errors import EXIT_USAGE

pytest.importorskip("distributed")

# The bound a test allows for an answer: the connection and the greeting each within CONNECT_TIMEOUT, and a
# generous, documented slack for a loaded machine (importing distributed, starting threads). A hang (distributed's
# client waits forever on a silent port) would exceed it by far.
BOUND_S = 2 * CONNECT_TIMEOUT + 60


def data():
    X = np.arange(40.0).reshape(20, 2) % 7
    return X, X @ [1.0, -2.0] + 0.5


def timed_refusal(address, match: str) -> float:
    """The fit with ``scheduler=address``, in a thread given BOUND_S to finish (a hang fails the test instead of
    hanging it): a one-paragraph ConfigError matching ``match``. Returns the seconds it took."""
    X, y = data()
    outcome = {}

    def run():
        try:
            gradfit.fit(X, y, scheduler=address)
        except Exception as exc:      # handed to the test below
            outcome["error"] = exc

    start = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(BOUND_S)
    assert not thread.is_alive(), f"no answer within {BOUND_S} s"
    error = outcome.get("error")
    assert isinstance(error, gradfit.ConfigError), error
    assert re.search(match, str(error)) and "\n" not in str(error), str(error)      # one paragraph
    return time.monotonic() - start


@pytest.fixture
def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]     # nothing listens there once closed


@pytest.fixture
def silent_port():
    """A port that accepts connections (the kernel's backlog) and never says a word."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield s.getsockname()[1]


@pytest.fixture
def http_port():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def talking_port():
    """A service that greets first, as SSH or SMTP do."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                try:
                    conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")
                    conn.recv(1)             # until the client hangs up
                except OSError:
                    pass

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()


def test_a_closed_port_is_named_as_unreachable(closed_port):
    elapsed = timed_refusal(f"tcp://127.0.0.1:{closed_port}", r"Could not connect to the Dask scheduler at "
                            r"'tcp://127\.0\.0\.1:\d+'.*is running")
    assert elapsed < BOUND_S


@pytest.mark.slow
def test_a_port_that_accepts_and_stays_silent_is_not_a_scheduler_within_the_timeout(silent_port):
    elapsed = timed_refusal(f"127.0.0.1:{silent_port}", rf"accepted the connection but is not a Dask scheduler: it "
                            rf"said nothing within {CONNECT_TIMEOUT} s\. Check the port")
    assert elapsed < BOUND_S


@pytest.mark.slow
def test_an_http_server_is_not_a_scheduler_within_the_timeout(http_port):
    elapsed = timed_refusal(f"tcp://127.0.0.1:{http_port}", r"is not a Dask scheduler.*8787 is its dashboard")
    assert elapsed < BOUND_S


def test_a_service_that_answers_something_else_is_named_by_what_it_said(talking_port):
    timed_refusal(f"tcp://localhost:{talking_port}", r"not a Dask scheduler: it answered 'SSH-2\.0-'")


@pytest.mark.parametrize("address", ["tcp://10.0.0.5", "http://10.0.0.5:8786", "10.0.0.5:port", "10.0.0.5:0",
                                     "tcp://10.0.0.5:8786/x", "scheduler :8786", ":8786", "10.0.0.5:99999"])
def test_a_malformed_address_is_refused_before_anything_runs(address):
    timed_refusal(address, r"is not a Dask scheduler address\. Give one as PROTOCOL://HOST:PORT")


@pytest.mark.parametrize("address", ["", "  "])
def test_an_empty_address_is_refused_not_a_local_cluster(address):
    timed_refusal(address, r"The scheduler address is empty.*leave --scheduler out for a local cluster")


def test_a_scheduler_with_another_engine_is_refused_in_python_and_on_the_command_line(cli, tmp_path):
    X, y = data()
    with pytest.raises(gradfit.ConfigError, match=r"engine='numpy' would not use it"):
        gradfit.fit(X, y, scheduler="tcp://10.0.0.5:8786", engine="numpy")
    (tmp_path / "d.csv").write_text("a,b,y\n" + "".join(f"{i % 7},{i % 3},{i}\n" for i in range(30)))
    result = cli("fit", tmp_path / "d.csv", "--x", "a", "--x", "b", "--y", "y", "--engine", "stream",
                 "--scheduler", "tcp://10.0.0.5:8786")
    assert result.code == EXIT_USAGE and "Traceback" not in result.err
    assert "engine='stream' would not use it" in result.err and "Leave --engine out" in result.err


def test_the_help_states_the_connect_timeout(cli):
    result = cli("fit", "--help")
    assert f"within {CONNECT_TIMEOUT} s" in " ".join(result.out.split()) and "implies --engine dask" in result.out


@pytest.mark.slow
def test_a_scheduler_address_implies_the_dask_engine(cli, tmp_path):
    import distributed

    cluster = distributed.LocalCluster(n_workers=1, processes=False, protocol="tcp://", dashboard_address=None)
    try:
        X, y = data()
        result = gradfit.fit(X, y, scheduler=cluster.scheduler_address)
        assert result.engine == "dask"
        np.testing.assert_allclose(result.model.weights, [1.0, -2.0], rtol=1e-8)
        (tmp_path / "d.csv").write_text("a,b,y\n" + "".join(f"{a},{b},{a - 2 * b + 0.5}\n" for a, b in X.tolist()))
        out = cli("fit", tmp_path / "d.csv", "--x", "a", "--x", "b", "--y", "y", "--scheduler",
                  cluster.scheduler_address)
        assert out.code == 0 and "engine dask" in out.out, out.err
    finally:
        cluster.close()


def _ones(rows: int, d: int):
    return np.ones((rows, d))


@pytest.mark.slow
def test_a_worker_killed_for_memory_is_a_message_naming_the_partition_size():
    import dask
    import dask.array as da
    import distributed

    rows, d = 48_000_000, 4                  # one partition of 1.4 GiB as float64, for a worker allowed 400 MiB
    X = da.from_delayed(dask.delayed(_ones)(rows, d), shape=(rows, d), dtype=np.float64)
    y = da.ones(rows, chunks=rows)
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, memory_limit="400MiB",
                                     dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        with pytest.raises(gradfit.DataError) as info:
            gradfit.fit(X, y, scheduler=client)
    message = str(info.value)
    assert "A Dask worker died" in message and "out of memory" in message and "\n" not in message
    assert f"partitions of up to {rows:,} rows × {d + 1} columns" in message and "--memory-limit" in message
    assert "rechunk" in message
