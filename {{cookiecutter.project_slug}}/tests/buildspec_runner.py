"""A small CodeBuild stand-in: runs a buildspec's commands as CodeBuild would, against moto.

`run_buildspec` executes the pre_build, build and post_build commands of buildspecs/<name>
in one bash each, in a copy of the project, with CodeBuild's variables, the buildspec's own
`env.variables`, and `AWS_ENDPOINT_URL` pointing at a moto server in this process. The install
phase is not run: it syncs .venv, and the copy's .venv is the environment the tests already
run in (test_buildspecs.py checks what the phase installs). A command that fails ends the
build, as there.
"""

import http.client
import os
import shutil
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUILDSPECS = PROJECT_ROOT / "buildspecs"
PHASES = ("pre_build", "build", "post_build")
PROJECT_VARIABLES = ("SAGEMAKER_PROJECT_NAME", "SAGEMAKER_PROJECT_ID")
# What a copy of the project needs to run the commands (the source CodeBuild checks out).
SOURCE = ("pyproject.toml", "uv.lock", "images.toml", "src", "data", "infra", "buildspecs")


def load(name: str) -> dict:
    return yaml.safe_load((BUILDSPECS / name).read_text())


def checkout(destination: Path) -> Path:
    """A copy of the project's source, as CodeBuild's working directory."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in SOURCE:
        source = PROJECT_ROOT / name
        target = destination / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    (destination / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    return destination


def run_buildspec(
    name: str, workdir: Path, endpoint: str, credentials: dict, variables: dict
) -> subprocess.CompletedProcess:
    """Run buildspecs/<name>'s commands in `workdir`; the result of the last command run."""
    spec = load(name)
    environment = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONPATH": str(workdir / "src"),
        "CODEBUILD_SRC_DIR": str(workdir),
        "CODEBUILD_BUILD_ID": "build-project:00000000-0000-4000-8000-000000000001",
        "CODEBUILD_RESOLVED_SOURCE_VERSION": "0123456789abcdef0123456789abcdef01234567",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        # The SDK's telemetry goes to AWS over HTTPS: a closed proxy keeps it on this machine.
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
        **{key: str(value) for key, value in spec.get("env", {}).get("variables", {}).items()},
        # The CodeBuild projects give SageMaker Projects seed code its project (infra/cicd.yml).
        **{key: os.environ[key] for key in PROJECT_VARIABLES if key in os.environ},
        **credentials,
        **variables,
    }
    result = subprocess.CompletedProcess([], 0, "", "")
    for phase in PHASES:
        for command in spec["phases"].get(phase, {}).get("commands", []):
            result = subprocess.run(
                ["bash", "-eo", "pipefail", "-c", command],
                cwd=workdir,
                env=environment,
                capture_output=True,
                text=True,
                timeout=300,
            )
            if result.returncode != 0:
                return result
    return result


class DelayingProxy:
    """Forwards HTTP to moto, holding back the first `slow` endpoint invocations by `delay` s.

    Stands in for an endpoint whose slowest requests are too slow: moto itself answers at once.
    """

    def __init__(self, target_port: int, slow: int, delay: float):
        self.delayed = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def forward(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path.endswith("/invocations") and proxy.delayed < slow:
                    proxy.delayed += 1
                    time.sleep(delay)
                connection = http.client.HTTPConnection("127.0.0.1", target_port, timeout=30)
                connection.request(self.command, self.path, body, dict(self.headers))
                response = connection.getresponse()
                payload = response.read()
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            # http.server's names; every other request (S3's, SageMaker's) passes as it came.
            do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = forward  # noqa: N815

            def log_message(self, *_):  # keep the test output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_):
        self.server.shutdown()
        self.server.server_close()
