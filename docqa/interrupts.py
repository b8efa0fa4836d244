"""Ctrl-C in the command-line programs: one line, and an end a calling shell understands.

An interrupt while a library is being imported does not raise ``KeyboardInterrupt`` into it: torch and transformers
run Python code from C++ while they import, where the exception aborts the process (``terminate called after
throwing an instance of 'pybind11::error_already_set'``) or leaves the interpreter ending by SIGINT after our own
handler returned. There the program prints its line and ends at once; an import writes nothing of ours, and every
row and passage written before it was flushed when written. Anywhere else the interrupt is the usual
``KeyboardInterrupt``, which the commands turn into their line and exit status :data:`INTERRUPTED`.

An interrupted command ends by SIGINT, as Python ends on an uncaught Ctrl-C: the shell reports 130, and a script
running the command in a loop stops too (an exit status of 130 would let it go on to the next iteration).
"""

import atexit
import contextlib
import gc
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import NoReturn

#: Exit status of an interrupted command (128 + SIGINT), as shells report a process ended by Ctrl-C.
INTERRUPTED = 130


def in_import(frame: FrameType | None) -> bool:
    """Whether ``frame`` runs inside an ``import`` (importlib's frames are on its stack)."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _flush_standard_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


def end_by_interrupt() -> None:
    """
    End the process by SIGINT, as an uncaught Ctrl-C does (a shell sees status 130 and stops its script); return
    only where the platform cannot (Windows), for the caller to exit with :data:`INTERRUPTED`.
    """
    _flush_standard_streams()
    if os.name != "posix":
        return
    gc.collect()
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)


def exit_with(status: int) -> NoReturn:
    """
    End a command-line program with ``status`` once its work is done; :data:`INTERRUPTED` ends by SIGINT
    (:func:`end_by_interrupt`).

    What an exit runs before the interpreter tears itself down still runs: other threads are waited for, the
    ``atexit`` functions are called and the standard streams are flushed. The tear-down itself is skipped: freeing
    every object of torch, transformers and sentence-transformers one by one took 1-3 s after the answer was out,
    and the operating system frees the process's memory at once.
    """
    if status == INTERRUPTED:
        end_by_interrupt()
    current = threading.current_thread()
    for thread in threading.enumerate():
        if thread is not current and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    _flush_standard_streams()
    os._exit(status)


@contextlib.contextmanager
def interrupts_outside_imports(line: Callable[[], str]) -> Iterator[None]:
    """
    Within the block, Ctrl-C during an import prints ``line()`` and ends the process (:func:`end_by_interrupt`);
    elsewhere it raises ``KeyboardInterrupt`` as usual. Does nothing where SIGINT is not Python's default handler
    (ignored by a parent shell, or another handler installed).
    """
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return

    def on_interrupt(signum: int, frame: FrameType | None) -> None:
        if not in_import(frame):
            raise KeyboardInterrupt
        _flush_standard_streams()
        with contextlib.suppress(Exception):
            os.write(sys.stderr.fileno(), f"{line()}\n".encode())
        end_by_interrupt()
        os._exit(INTERRUPTED)

    signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
