"""XGBoost across the hosts of a training job, with xgboost's own collective communication.

A training job of N instances runs `train` on N hosts, each with its shard of the train
channel (ShardedByS3Key). The first host runs xgboost's tracker, where the hosts meet; each
then trains inside the collective, which sums the gradient statistics of all shards at every
split, so that all hosts grow the same trees. A host whose shard is empty (fewer files than
hosts) takes part with no rows. The first host saves the model (train/__main__.py).

The model equals one trained on all rows on one host within a small tolerance, not exactly:
each host sketches the quantiles of its own rows (the split candidates), and sums are taken
in another order (test_distributed.py states the tolerance).

Where the tracker listens: on SageMaker, the first host's name, which every host resolves,
and TRACKER_PORT. The executor runs all hosts on one machine, where those names resolve to
nothing: it gives the address in DMLC_TRACKER_URI and DMLC_TRACKER_PORT, as xgboost's own
launcher does.
"""

import contextlib
import os
import socket
import time
from collections.abc import Iterator

from xgboost import collective
from xgboost.core import XGBoostError
from xgboost.tracker import RabitTracker

from ..cluster import Cluster

TRACKER_PORT = 9099
# How long a host keeps trying to join: the first host may still be starting.
JOIN_SECONDS = 300


def tracker_address(cluster: Cluster) -> tuple[str, int]:
    """The tracker's IP address and port."""
    host = os.environ.get("DMLC_TRACKER_URI") or cluster.hosts[0]
    port = int(os.environ.get("DMLC_TRACKER_PORT") or TRACKER_PORT)
    return socket.gethostbyname(host), port


def start_tracker(cluster: Cluster) -> RabitTracker | None:
    """The tracker, on the first host (None elsewhere): started before the data is read."""
    if cluster.rank:
        return None
    address, port = tracker_address(cluster)
    # sortby="task": ranks follow the hosts' order (task ids are compared as text: padded).
    tracker = RabitTracker(len(cluster.hosts), address, port=port, sortby="task")
    tracker.start()
    return tracker


@contextlib.contextmanager
def joined(cluster: Cluster) -> Iterator[None]:
    """Inside the collective: xgboost's training there is across every host.

    Joining waits for every host, trying again while the tracker does not answer yet, up to
    JOIN_SECONDS.
    """
    address, port = tracker_address(cluster)
    arguments = {
        "dmlc_tracker_uri": address,
        "dmlc_tracker_port": port,
        "dmlc_task_id": f"{cluster.rank:05d}",
    }
    deadline = time.monotonic() + JOIN_SECONDS
    while True:
        try:
            collective.init(**arguments)
            break
        except XGBoostError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    try:
        yield
    finally:
        collective.finalize()
