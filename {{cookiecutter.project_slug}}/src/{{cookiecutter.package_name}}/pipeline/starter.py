"""Start job processes warm: fork them from a process that has imported the image's libraries.

A job's Python spends seconds importing pandas, scikit-learn and the like before it runs a line
of the package. The executor (`executor.py`) runs this file as a script, once per process,
interpreter and base environment, with the modules to import first: the image's libraries
that the code bundle imports, never the package itself. It then asks it, over a Unix socket,
to start each job: the starter forks, and the child becomes the job as `python -m <module>`
or `python -c <code>` would start it, with the job's arguments, environment, working folder
and sys.path, its output on the pipe the executor reads, and its exit status reported back.
The job imports the package from the code bundle, as on SageMaker; only imports of libraries
already loaded are skipped.

Messages are JSON, one per packet: {"start": argv, "env": ..., "cwd": ...} with the output
pipe's descriptor attached, answered by {"pid": n}; {"wait": pid}, answered by {"status": n}
(the exit code, or minus the signal that ended it). Standard library only: it must not import
the package, whose files the jobs take from the bundle.
"""

import atexit
import builtins
import contextlib
import importlib
import json
import os
import runpy
import signal
import socket
import sys
import traceback
import types
import warnings


def run_job(request: dict, output: int, library_path: list[str]) -> None:
    """Become the job the request describes; never returns."""
    status = 0
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.close(output)
        stdin = os.open(os.devnull, os.O_RDONLY)
        os.dup2(stdin, 0)
        os.close(stdin)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        if "numpy" in sys.modules:  # a fresh process draws its own unseeded random state
            sys.modules["numpy"].random.seed()
        python_path = request["env"].get("PYTHONPATH", "").split(os.pathsep)
        python_path = [folder for folder in python_path if folder]
        _, option, target, *arguments = request["start"]
        if option == "-m":
            sys.path[:] = [request["cwd"], *python_path, *library_path]
            sys.argv = [target, *arguments]
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            sys.path[:] = ["", *python_path, *library_path]
            sys.argv = ["-c", *arguments]
            main_module = types.ModuleType("__main__")  # as `python -c` runs the code in
            main_module.__builtins__ = builtins
            sys.modules["__main__"] = main_module
            exec(compile(target, "<string>", "exec"), main_module.__dict__)
    except SystemExit as exit:
        if exit.code is None or isinstance(exit.code, int):
            status = exit.code or 0
        else:
            print(exit.code, file=sys.stderr)
            status = 1
    except BaseException:
        traceback.print_exc()
        status = 1
    finally:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def serve(connection: socket.socket, library_path: list[str]) -> None:
    while True:
        message, descriptors, _, _ = socket.recv_fds(connection, 1 << 20, 1)
        if not message:  # the executor closed its end: the run is over
            return
        request = json.loads(message)
        if "start" in request:
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                connection.close()
                run_job(request, descriptors[0], library_path)
            os.close(descriptors[0])
            connection.send(json.dumps({"pid": pid}).encode())
        else:
            _, wait_status = os.waitpid(request["wait"], 0)
            connection.send(json.dumps({"status": os.waitstatus_to_exitcode(wait_status)}).encode())


def main() -> None:
    del sys.path[0]  # this file's folder: each job gets the sys.path its own start would give
    # Ctrl-C reaches the whole process group: the executor stops the jobs, and then this.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    library_path = list(sys.path)
    connection = socket.socket(fileno=int(sys.argv[1]))
    for module in sys.argv[2:]:
        # A module that fails to import fails the job that imports it, as it would cold.
        with contextlib.suppress(Exception):
            importlib.import_module(module)
    # The libraries' idle threads do not survive a fork; the children start their own.
    warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
    serve(connection, library_path)


if __name__ == "__main__":
    main()
