"""cli.console: the console script's exit skips the interpreter's teardown, nothing else."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _console(prelude: str) -> subprocess.CompletedProcess:
    code = textwrap.dedent(prelude) + textwrap.dedent(
        """
        import sys
        from evaluation import cli
        sys.argv = ["evaluation", "run", "--config", "/nonexistent/evaluation.yml"]
        cli.console()
        print("not reached")
        """
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_exit_code_message_and_exit_functions_are_kept():
    done = _console(
        """
        import atexit
        atexit.register(lambda: print("exit function ran", end=""))  # unflushed on purpose
        """
    )
    assert done.returncode == 2  # a configuration error
    assert "configuration file /nonexistent/evaluation.yml does not exist" in done.stderr
    assert done.stdout == "exit function ran"  # ran, and its buffered output was flushed


def test_a_thread_still_running_is_waited_for():
    done = _console(
        """
        import threading, time
        def late():
            time.sleep(0.5)
            print("thread ended", flush=True)
        threading.Thread(target=late).start()
        """
    )
    assert done.returncode == 2
    assert done.stdout == "thread ended\n"
