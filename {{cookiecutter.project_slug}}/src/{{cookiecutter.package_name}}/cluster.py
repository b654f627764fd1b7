"""The instances of the job this process runs in, as SageMaker lists them in its resource config.

A processing or training job of N instances runs its code on N hosts, `algo-1` to `algo-N`,
and tells each, in resourceconfig.json, every host's name and its own. Outside a job there is
one host. Each instance writes files of its own under names `own` gives, so that instances
writing to the same S3 prefix never overwrite one another.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from . import settings

PROCESSING_CONFIG = settings.OPT_ML / "config" / "resourceconfig.json"
TRAINING_CONFIG = settings.OPT_ML / "input" / "config" / "resourceconfig.json"


@dataclass(frozen=True)
class Cluster:
    hosts: tuple[str, ...] = ("algo-1",)
    current: str = "algo-1"

    @property
    def rank(self) -> int:
        """This host's place among the hosts: 0 is the first, which leads."""
        return self.hosts.index(self.current)

    def own(self, name: str) -> str:
        """A file name of this host's own: `train.csv` alone, `train-algo-2.csv` among several."""
        if len(self.hosts) == 1:
            return name
        path = Path(name)
        return f"{path.stem}-{self.current}{path.suffix}"


def of_job(config_file: Path) -> Cluster:
    """The job's hosts, from its resource config; one host when there is none (not a job)."""
    if not config_file.is_file():
        return Cluster()
    config = json.loads(config_file.read_text())
    return Cluster(tuple(config["hosts"]), config["current_host"])
