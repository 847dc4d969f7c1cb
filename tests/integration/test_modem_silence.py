#!/usr/bin/env python3
"""A module that goes quiet for a minute, then answers again: the link must be back within
seconds of its first answer, whatever the recovery ladder was doing meanwhile (a step sent into
the silence, or a long backoff)."""

import time

from harness import modem_case, run, wait_for

SILENCE = 60      # seconds the module says nothing at all
BACK_WITHIN = 10  # seconds from its first answer to the link being up again
PATIENCE = 200    # how long to wait anyway, so a slow recovery is measured rather than cut short


def silent_minute(args, **timers):
    with modem_case(args, "normal", **timers) as c:
        c.wait_state("connected", 20)
        c.sim.control("silence on")
        quiet_since = time.monotonic()
        c.wait(lambda p: p["State"] != "connected", 30, "the silence noticed")
        time.sleep(max(0.0, SILENCE - (time.monotonic() - quiet_since)))
        during = c.props()
        assert during["State"] != "connected" and during["FailedReason"] == "no-response", during
        c.sim.control("silence off")
        answered = time.monotonic()
        c.wait_state("connected", PATIENCE)
        back = time.monotonic() - answered
        print(f"  {timers or 'test timers'}: link back {back:.1f} s after the module answers again", flush=True)
        assert back <= BACK_WITHIN, f"link back {back:.1f} s after the module answered, want <= {BACK_WITHIN} s"
        log = c.d.log()
        assert "stopped answering" in log or "does not answer" in log, "no trace of the silence in the journal"
        wait_for(lambda: c.props()["State"] == "connected", 5, "still connected")


def test_silence_while_the_ladder_climbs(args):
    # The test timers (backoff 1 s doubling to 4 s): the ladder reaches its reattach step while the
    # module is still silent, so that step's commands go into the silence.
    silent_minute(args)


def test_silence_ends_during_a_long_backoff(args):
    # The shipped backoff (5 s doubling to 5 min): the module comes back while the controller waits
    # out a backoff; a probe must notice it rather than the end of the wait.
    silent_minute(args, recovery_backoff="5s", recovery_backoff_max="5m")


if __name__ == "__main__":
    run([
        test_silence_while_the_ladder_climbs,
        test_silence_ends_during_a_long_backoff,
    ])
