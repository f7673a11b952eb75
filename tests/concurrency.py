"""Races on purpose: the same step run by several threads at once, each on its own connection."""

import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.db import connections

R = TypeVar("R")


def run_at_once(
    work: Callable[..., R], arguments: Sequence[tuple[Any, ...]], *, timeout: float = 60
) -> list[R]:
    """Run `work(ready, *args)` in a thread for each tuple of `arguments`.

    Each thread does its own setting up, then calls `ready()` just before the step that races;
    every thread waits there until all have arrived, so those steps overlap. Each thread closes
    its database connections when done. Returns the results in the order they finished; an
    error in any thread is raised here, after all have stopped.
    """
    barrier = threading.Barrier(len(arguments))
    results: list[R] = []
    errors: list[BaseException] = []

    def ready() -> None:
        barrier.wait(timeout=timeout)

    def run(args: tuple[Any, ...]) -> None:
        try:
            results.append(work(ready, *args))
        except BaseException as error:  # raised again in the test's own thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(args,)) for args in arguments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    if any(thread.is_alive() for thread in threads):
        raise TimeoutError(f"{work.__name__} still running after {timeout}s")
    if errors:
        raise errors[0]
    return results
