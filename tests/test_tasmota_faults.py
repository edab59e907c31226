"""The Tasmota driver's own faults and frames: late answers, exact topics, telemetry, FullTopic,
the daemon's Last Will. Faults every MQTT relay shares: tests/test_mqtt_relay_faults.py."""

from __future__ import annotations

import asyncio
import os
import selectors
import signal
import subprocess
import sys
import time

from peers.mosquitto import Mosquitto, Subscriber, unique_name
from rig_tasmota import MakeTasmota, tasmota_relay
from waiting import broker_caught_up, until


def test_late_answer_is_caught_by_the_retry(
    mosquitto: Mosquitto, make_tasmota: MakeTasmota
) -> None:
    double = make_tasmota(mosquitto)
    double.reply_delay_s = 0.45

    async def scenario() -> None:
        async with tasmota_relay(mosquitto, double, unique_name("late")) as (relay, _conn):
            result = await relay.switch(1, True)
            assert (result.confirmation, result.attempts) == ("confirmed", 2)

    asyncio.run(scenario())


def test_commands_have_exact_topics_and_are_never_retained(
    mosquitto: Mosquitto, make_tasmota: MakeTasmota
) -> None:
    double = make_tasmota(mosquitto, channels=2)
    client_id = unique_name("retain")

    async def scenario() -> None:
        async with tasmota_relay(mosquitto, double, client_id, channels=2) as (relay, _conn):
            await relay.switch(2, True, deadman_s=13)
            await relay.switch(2, False)
            assert await until(lambda: relay.pulsetime_s(2) == 13.0, 1)
        seen = [(c.topic, c.payload, c.retain) for c in double.commands]
        t = double.topic
        assert seen == [
            # start-up: the settings that could defeat the dead-man, then the fix (default is 3)
            (f"cmnd/{t}/PowerOnState", "", False),
            (f"cmnd/{t}/SetOption4", "", False),
            (f"cmnd/{t}/SetOption26", "", False),
            (f"cmnd/{t}/Interlock", "", False),
            (f"cmnd/{t}/PowerOnState", "0", False),
            (f"cmnd/{t}/PulseTime2", "113", False),
            (f"cmnd/{t}/POWER2", "ON", False),
            (f"cmnd/{t}/POWER2", "OFF", False),
        ]
        assert double.pulsetime(2) == 113
        # A subscriber already connected is always told retain=0: the broker's log is the proof.
        sent = mosquitto.received_publishes(client_id)
        assert [r for topic, r in sent if topic.startswith("cmnd/")] == [False] * 8
        late = Subscriber(mosquitto, f"cmnd/{t}/#")
        try:
            assert broker_caught_up(late.client)  # so a retained copy would be in by now
            assert late.messages == []
        finally:
            late.close()

    asyncio.run(scenario())


def test_a_press_the_device_does_not_report_shows_with_the_next_telemetry(
    mosquitto: Mosquitto, make_tasmota: MakeTasmota
) -> None:
    double = make_tasmota(mosquitto)

    async def scenario() -> None:
        async with tasmota_relay(mosquitto, double, unique_name("reports")) as (relay, _conn):
            await relay.switch(1, True)  # a reported press: tests/test_mqtt_relay_faults.py
            double.press(1, report=False)  # a button on the device, and nothing said
            await asyncio.sleep(0.2)  # an absence: no report may reach the driver meanwhile
            assert relay.status(1).state == "on"  # not told yet
            double.publish_state()  # telemetry
            assert await until(lambda: relay.status(1).state == "off", 2)

    asyncio.run(scenario())


def test_reordered_fulltopic(mosquitto: Mosquitto, make_tasmota: MakeTasmota) -> None:
    template = "tasmota/%topic%/%prefix%/"
    double = make_tasmota(mosquitto, full_topic=template)

    async def scenario() -> None:
        async with tasmota_relay(
            mosquitto, double, unique_name("fulltopic"), full_topic=template
        ) as (relay, _conn):
            assert (await relay.switch(1, True)).confirmation == "confirmed"
        assert double.received("POWER1")[0].topic == f"tasmota/{double.topic}/cmnd/POWER1"

    asyncio.run(scenario())


DAEMON = """
import asyncio, sys
from drivers.settings.links import MqttConfig
from drivers.transports.mqtt import MqttConnection

async def main() -> None:
    cfg = MqttConfig(host=sys.argv[1], port=int(sys.argv[2]), client_id=sys.argv[3], keepalive_s=5)
    conn = MqttConnection(cfg, status_topic=sys.argv[4])
    await conn.start()
    if await conn.wait_connected(5):
        print("ready", flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


def test_daemon_status_goes_offline_by_will_when_killed(mosquitto: Mosquitto) -> None:
    status_topic = f"broadcastctl/{unique_name('station')}/status"
    watcher = Subscriber(mosquitto, status_topic)
    args = [mosquitto.host, str(mosquitto.port), unique_name("daemon"), status_topic]
    proc = subprocess.Popen([sys.executable, "-c", DAEMON, *args], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            assert selector.select(timeout=10), "daemon did not connect"
        assert proc.stdout.readline() == b"ready\n"
        deadline = time.monotonic() + 3
        while watcher.payloads() != [b"online"] and time.monotonic() < deadline:
            time.sleep(0.02)
        assert watcher.payloads() == [b"online"]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)
        while len(watcher.messages) < 2 and time.monotonic() < deadline + 5:
            time.sleep(0.02)
        assert watcher.payloads() == [b"online", b"offline"]
    finally:
        watcher.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        if proc.stdout is not None:
            proc.stdout.close()
    late = Subscriber(mosquitto, status_topic)
    try:
        deadline = time.monotonic() + 2
        while not late.messages and time.monotonic() < deadline:
            time.sleep(0.02)
        assert late.messages == [(status_topic, b"offline", True)]
    finally:
        late.close()
