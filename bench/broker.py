"""The bench's broker: tests.broker's Mosquitto, with TCP_NODELAY on the broker's sockets.

Mosquitto leaves Nagle's algorithm on by default (`set_tcp_nodelay false`). Then a QoS 1
press holds up what follows it: the broker's PUBACK to the presser sits unacknowledged
(delayed ACK, up to 40 ms) and the next small packet to the same client, the announcement,
waits behind it. That is the broker's latency, not the daemon's: the bench turns it off,
as a site that cares about latency should (see the README, "Performance").
"""

from __future__ import annotations

from tests.broker import Mosquitto


class BenchBroker(Mosquitto):
    def __init__(self) -> None:
        super().__init__()
        conf = self._conf  # tests.broker writes its file in __init__; one line more here
        conf.write_text(conf.read_text() + "set_tcp_nodelay true\n")
