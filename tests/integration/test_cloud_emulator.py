#!/usr/bin/env python3
"""The test platform itself: the emulator's Aliyun and OneNET checks accept the platforms'
published signing vectors and refuse their mutations with the documented codes, and its kick,
ban and QoS rules work over a real socket. (No daemon involved: the other cloud tests rely on it.)"""

from modem_common import run_parallel
import mqtt_emulator


def test_emulator_published_vectors_and_rules(args):
    problems = mqtt_emulator.selftest()
    assert not problems, "emulator self-test failed:\n" + "\n".join(problems)


if __name__ == "__main__":
    run_parallel([test_emulator_published_vectors_and_rules])
