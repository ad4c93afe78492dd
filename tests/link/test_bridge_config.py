"""`vipctl bridge-config`: the Mosquitto bridge section and both ACLs, read back line by
line (tests/link/test_three_brokers.py runs them on three real brokers)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from controller.cli.main import app
from tests.broker import Mosquitto
from tests.link.bridges import bridge_config
from tests.scenario.rig import site_file


def options(text: str) -> dict[str, list[str]]:
    """The configuration lines (not the comments): option → its values, in order."""
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition(" ")
            found.setdefault(key, []).append(value)
    return found


def commented(text: str) -> list[str]:
    return [line[2:] for line in text.splitlines() if line.startswith("# ")]


def test_the_section_for_a_site_with_a_topic_prefix_over_tls(tmp_path: Path) -> None:
    site = site_file(tmp_path, Mosquitto(port=1), "site-a", site_id="north")
    ca = tmp_path / "hq-ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    text = bridge_config(site, "mqtts://hq.example.com", "--user", "north", "--cafile",
                         str(ca), "--password-env", "HQ_PW", env={"HQ_PW": "pw-123"})
    conf = options(text)
    assert conf["connection"] == ["vipctl-north"]
    assert conf["address"] == ["hq.example.com:8883"]
    assert conf["remote_clientid"] == ["vipctl-north"]
    assert conf["remote_username"] == ["north"] and conf["remote_password"] == ["pw-123"]
    assert conf["cleansession"] == ["false"] and conf["notifications"] == ["true"]
    assert conf["notification_topic"] == ["vipctl/north/link"]
    assert conf["bridge_cafile"] == [str(ca)] and conf["bridge_insecure"] == ["false"]
    assert conf["restart_timeout"] == ["2 30"]
    assert conf["topic"] == [
        'vipctl/north/events out 1 site-a/ ""',
        'vipctl/north/summary out 1 site-a/ ""',
        'vipctl/north/bookings/reply out 1 site-a/ ""',
        'vipctl/north/bookings/request in 1 site-a/ ""',
    ]
    acl = commented(text)
    hq = acl[acl.index("user north"):acl.index("user north") + 6]
    assert hq == ["user north", "topic write vipctl/north/events",
                  "topic write vipctl/north/summary", "topic write vipctl/north/bookings/reply",
                  "topic write vipctl/north/link", "topic read vipctl/north/bookings/request"]
    # On the site broker no login writes the booking requests: the bridge alone brings them.
    site = acl[acl.index("user vipctl"):]
    assert "topic read site-a/vipctl/north/bookings/request" in site
    assert [line for line in site if "write" in line and "bookings/request" in line] == []
    assert "\n#topic write site-a/vipctl/north/bookings/request\n" in text  # plugins only


def test_the_password_is_printed_only_from_the_environment(tmp_path: Path) -> None:
    site = site_file(tmp_path, Mosquitto(port=1), "p", site_id="north")
    text = bridge_config(site, "mqtt://10.0.0.9:1884", "--user", "north")
    conf = options(text)
    assert "remote_password" not in conf and "bridge_cafile" not in conf
    assert conf["address"] == ["10.0.0.9:1884"]
    unset = CliRunner().invoke(app, ["bridge-config", "--config", str(site), "--hq",
                                     "mqtt://hq", "--user", "n", "--password-env", "NOT_SET"])
    assert unset.exit_code == 2 and "NOT_SET is not set" in unset.stderr


def test_bad_options_are_refused(tmp_path: Path) -> None:
    site = site_file(tmp_path, Mosquitto(port=1), "p", site_id="north")
    for args, error in [(["--hq", "http://hq"], "mqtt:// or mqtts://"),
                        (["--hq", "mqtt://hq", "--cafile", str(site)], "only for an mqtts"),
                        (["--hq", "mqtts://hq", "--cafile", "/no/such"], "no such file"),
                        (["--hq", "mqtt://hq", "--name", "a b"], "cannot stand")]:
        result = CliRunner().invoke(app, ["bridge-config", "--config", str(site), *args])
        assert result.exit_code == 2, (args, result.output)
        assert error in result.stderr, (args, result.stderr)
