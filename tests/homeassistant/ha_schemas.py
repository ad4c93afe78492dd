"""Run by Home Assistant's own Python (.ha-venv, scripts/ha-venv), not vipctl's: checks
discovery configs with Home Assistant's MQTT platform schemas, as its discovery does
(components/mqtt/discovery.py: the topic, the origin, then the platform's
DISCOVERY_SCHEMA). Reads {"topic": config, ...} as JSON on stdin; prints
{"version": ..., "errors": {topic: why}, "ignored": {topic: [keys the schema drops]}}.
"""

import importlib
import json
import sys

from homeassistant.components.mqtt import discovery
from homeassistant.const import __version__


def check(topic: str, config: dict, prefix: str) -> tuple[str | None, list[str]]:
    if not topic.startswith(prefix + "/"):
        return f"not under the discovery prefix {prefix}/", []
    match = discovery.TOPIC_MATCHER.match(topic[len(prefix) + 1:])
    if not match:
        return "not a discovery topic Home Assistant matches", []
    component = match.group("component")
    if component not in discovery.SUPPORTED_COMPONENTS:
        return f"{component} is not an MQTT platform", []
    try:
        if "origin" in config:
            discovery.MQTT_ORIGIN_INFO_SCHEMA(dict(config["origin"]))
        platform = importlib.import_module(f"homeassistant.components.mqtt.{component}")
        valid = platform.DISCOVERY_SCHEMA({**config, "platform": "mqtt"})
    except Exception as exc:  # noqa: BLE001 - what the schema says is the answer
        return f"{type(exc).__name__}: {exc}", []
    # The platforms' schemas drop unknown keys (vol.REMOVE_EXTRA): a misspelt key is lost.
    return None, sorted(set(config) - set(valid))


def main() -> None:
    request = json.load(sys.stdin)
    errors, ignored = {}, {}
    for topic, config in request["configs"].items():
        error, dropped = check(topic, config, request["prefix"])
        if error:
            errors[topic] = error
        if dropped:
            ignored[topic] = dropped
    json.dump({"version": __version__, "errors": errors, "ignored": ignored}, sys.stdout)


if __name__ == "__main__":
    main()
