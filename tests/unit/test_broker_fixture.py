import socket

from tests.broker import Mosquitto


def test_mosquitto_listens_and_restarts(own_mosquitto: Mosquitto) -> None:
    with socket.create_connection((own_mosquitto.host, own_mosquitto.port), timeout=1):
        pass
    own_mosquitto.restart()
    with socket.create_connection((own_mosquitto.host, own_mosquitto.port), timeout=1):
        pass
