"""Shared by the local servers: exit once the process that started them is gone, so that a
test run or `make dev` never leaves one behind."""

import os
import threading
import time


def exit_with_parent(pid: int) -> None:
    def watch() -> None:
        while True:
            try:
                os.kill(pid, 0)
            except OSError:
                os._exit(0)
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True).start()
