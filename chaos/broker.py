"""The campaign's broker: tests.broker's Mosquitto with persistence on, killable with SIGKILL.

Persistence is what a site runs with: retained states and persistent sessions (the
recorder's) survive a restart. Mosquitto writes its database every `autosave_interval`
seconds and at a clean shutdown, so a SIGKILL loses at most the last second of changes, as
a power cut would.
"""

from __future__ import annotations

import signal

from tests.broker import Mosquitto

# Seconds between saves of the in-memory state (Mosquitto's default is 1800).
AUTOSAVE_S = 1


class PersistentBroker(Mosquitto):
    def __init__(self) -> None:
        super().__init__()
        conf = self._conf  # tests.broker writes its file in __init__; persistence replaces it
        text = conf.read_text().replace("persistence false\n", "")
        conf.write_text(text + "persistence true\n"
                        f"persistence_location {self._dir}/\n"
                        f"autosave_interval {AUTOSAVE_S}\n"
                        "set_tcp_nodelay true\n")
        self.kills = 0

    def kill(self) -> None:
        """SIGKILL: no save, no last words to anyone; start() brings it back on its port."""
        if self._proc is None:
            return
        self._proc.send_signal(signal.SIGKILL)
        self._proc.wait()
        self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
        self.kills += 1
