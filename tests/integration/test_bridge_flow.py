#!/usr/bin/env python3
"""The bridge end to end: local mosquitto -> cellgate -> the cloud, with the right topics and the
platform's message formats (raw route with a topic template to a real mosquitto; property and
event routes to the Aliyun and OneNET emulations, which check Alink JSON / OneJSON and answer the
posts), replies counted on D-Bus (only replies to posts sent, each once), invalid local payloads
never forwarded; and the downlink round trip: a platform request lands on a local topic, the local
answer (also one with only the data) goes back as the platform reply with the request's id."""

import base64
import json
import os
import shutil
import tempfile
import time

from brokers import started_mosquitto
from emulator import PlatformEmulator, topic_matches
from harness import MqttCollector, bridge_case, platform_session, run, wait_for

ALI = dict(product_key="a1B2c3D4e5F", device_name="gw-001", device_secret="dF8sKq2LmN5pR7tV9xZ1bC3eG5hJ7kM9")
ONE = dict(product_id="238322", device_name="gw-001", device_key=base64.b64encode(bytes(range(7, 39))).decode())

# Local payloads a property route must refuse: not JSON, not an object, not flat, null, not UTF-8.
INVALID = [b"not json", b"[1,2,3]", b'{"temp":', b'"text"', b'{"a":{"b":1}}', b'{"a":null}', b"\xff\xfe{}",
           b""]


def connected(p):
    return p["State"] == "connected"


def ms_now():
    return int(time.time() * 1000)


def percentile(values, q):
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


def unwrap(v):
    return v["value"] if isinstance(v, dict) and "value" in v else v


def check_ids_increasing(posts, what):
    ids = [int(p["id"]) for p in posts]
    assert len(set(ids)) == len(ids), f"{what}: duplicate message ids {ids}"
    assert ids == sorted(ids), f"{what}: ids not increasing in send order: {ids}"
    return ids


def check_times(posts, t0_ms, what, required):
    """Every time field is milliseconds between the local publish and the cloud's arrival."""
    seen = 0
    for p in posts:
        params = p["json"]["params"]
        stamps = [params["time"]] if "time" in params else []
        stamps += [v["time"] for v in params.values() if isinstance(v, dict) and "time" in v]
        if required:
            assert stamps, f"{what}: no time field in {p['payload']!r}"
        for t in stamps:
            assert t0_ms - 2000 <= t <= p["wall"] * 1000 + 2000, \
                f"{what}: time {t} outside [publish {t0_ms}, arrival {p['wall'] * 1000:.0f}] ms: {p['payload']!r}"
            seen += 1
    return seen


def publish_mixed(pub, topic_of, good, bad_topic):
    """Publishes the good payloads with an invalid one after each; returns {payload: monotonic time}."""
    sent = {}
    for i, doc in enumerate(good):
        data = json.dumps(doc)
        sent[data] = time.monotonic()
        pub.publish(topic_of(i), data, qos=1)
        if i < len(INVALID):
            pub.publish(bad_topic, INVALID[i], qos=1)
    return sent


def test_raw_route_to_cloud_mosquitto(args):
    with started_mosquitto(keep=args.keep) as cloud, \
            PlatformEmulator("aliyun", **ALI) as ali:
        sessions = [dict(name="lab", platform="generic", endpoint=cloud.endpoint, client_id="gw-lab", tls=False,
                         keepalive="60s"),
                    platform_session("ali", ali)]
        # {device_name} of a generic session is its client_id unless set.
        routes = [{"from": "app/raw/#", "to": "lab", "as": "raw", "topic": "gw/{device_name}/{1}", "qos": 1},
                  {"from": "app/ali/+", "to": "ali", "as": "raw", "topic": "/{product_key}/{device_name}/user/{1}",
                   "qos": 1}]
        with bridge_case(args, sessions, routes) as case, \
                MqttCollector(cloud.host, cloud.port, ["#"], client_id="cloud-watch") as watch, \
                case.publisher() as pub:
            case.wait("lab", connected, 15, "lab connected")
            case.wait("ali", connected, 15, "ali connected")
            sent = []
            for i in range(20):
                sub = f"dev{i % 3}/ch/{i}"
                payload = bytes([i, 0, 255]) + f"raw-{i}".encode() + b"\x00\xfe"
                sent.append((f"gw/gw-lab/{sub}", payload, time.monotonic()))
                pub.publish(f"app/raw/{sub}", payload, qos=1)
            big = bytes(range(256)) * 400  # 100 KiB, every byte value
            sent.append(("gw/gw-lab/big", big, time.monotonic()))
            pub.publish("app/raw/big", big, qos=1)
            pub.publish("app/other/x", b"unrouted", qos=1)
            pub.publish("app/ali/update", b'{"free":"form"}', qos=1)
            mine = lambda t, p: t.startswith("gw/") or p == b"unrouted"  # noqa: E731
            watch.wait_count(len(sent), 15, mine)
            time.sleep(0.5)
            got = [m for m in watch.snapshot() if mine(m[1], m[2])]
            topics = [(t, p) for _, t, p in got]
            assert topics == [(t, p) for t, p, _ in sent], \
                "cloud broker got (topic, payload) != sent, in order:\n" + \
                "\n".join(f"  got {t} {p[:24]!r}" for t, p in topics[:25])
            lat = [(tg - ts) * 1000 for (tg, _, _), (_, _, ts) in zip(got, sent)]
            qos_lines = [m.group(1) for _, m in cloud.events(r"Received PUBLISH from gw-lab \(d\d, q(\d)")]
            assert qos_lines and set(qos_lines) == {"1"}, f"QoS of the raw route's publishes: {qos_lines}"
            arr = wait_for(lambda: ali.received("/+/+/user/#"), 10, "the raw aliyun publish")
            assert [(p["topic"], p["payload"]) for p in arr] == \
                [(f"/{ALI['product_key']}/{ALI['device_name']}/user/update", b'{"free":"form"}')], arr
            assert not ali.protocol_errors, ali.protocol_errors
            print(f"raw: {len(sent)} messages to gw/gw-lab/<captures> in order, byte-exact (100 KiB one included); "
                  f"latency p50 {percentile(lat, .5):.1f} ms, max {max(lat):.1f} ms; aliyun raw -> {arr[0]['topic']}")


def _post_flow(args, emu, expect_topic, time_required):
    """Shared by the aliyun and onenet cases: property + event routes, invalid payloads, replies."""
    name = emu.mode[:3]
    routes = [{"from": "sensors/+/telemetry", "to": name, "as": "property"},
              {"from": "alarms/overheat", "to": name, "as": "event:overheat"},
              {"from": "bad/property", "to": name, "as": "property"}]
    with bridge_case(args, [platform_session(name, emu)], routes) as case, case.publisher() as pub:
        case.wait(name, connected, 15, "connected")
        t0_ms = ms_now()
        props = [{"temp": 20.0 + i / 4, "hum": 40 + i, "on": i % 2 == 0, "mode": f"m{i}"} for i in range(8)]
        sent = publish_mixed(pub, lambda i: f"sensors/s{i}/telemetry", props, "bad/property")
        for lvl in (2, 3):
            doc = {"level": lvl, "where": "rack"}
            sent[json.dumps(doc)] = time.monotonic()
            pub.publish("alarms/overheat", json.dumps(doc), qos=1)
        posts = emu.wait_posts(10, 15)
        time.sleep(1.0)  # anything half-formed would come now
        posts = emu.posts(include_bad=True)
        assert not emu.format_errors, "platform format errors:\n" + "\n".join(
            f"  {e['topic']}: {e['what']}: {e['payload'][:200]!r}" for e in emu.format_errors)
        assert len(posts) == 10, f"{len(posts)} posts arrived, want 8 property + 2 event: " + \
            "; ".join(f"{p['topic']} {p['payload'][:80]!r}" for p in posts)
        prop_posts = [p for p in posts if p["kind"] == "property"]
        ev_posts = [p for p in posts if p["kind"] == "event"]
        assert [p["topic"] for p in prop_posts] == [expect_topic("property")] * 8, [p["topic"] for p in prop_posts]
        assert [p["topic"] for p in ev_posts] == [expect_topic("event")] * 2, [p["topic"] for p in ev_posts]
        for doc, p in zip(props, prop_posts):
            got = {k: unwrap(v) for k, v in p["json"]["params"].items()}
            assert got == doc, f"property values changed: sent {doc}, got {got}"
        # A float property of Aliyun's thing model needs its decimal point: 20.0 must not become 20.
        assert b"20.0" in prop_posts[0]["payload"], prop_posts[0]["payload"]
        for lvl, p in zip((2, 3), ev_posts):
            params = p["json"]["params"]
            value = params["value"] if "value" in params else unwrap(params["overheat"])
            assert value == {"level": lvl, "where": "rack"}, f"event params: {params}"
        assert all(p["qos"] == 1 and not p["retain"] for p in posts), [(p["qos"], p["retain"]) for p in posts]
        assert not emu.protocol_errors, emu.protocol_errors
        ids = check_ids_increasing(posts, name)
        stamps = check_times(posts, t0_ms, name, time_required)
        lat = [(p["time"] - sent[json.dumps(d)]) * 1000 for d, p in zip(props, prop_posts)]

        # Replies: 200 -> Accepted; a refusal -> Rejected with its code.
        p = case.wait(name, lambda q: q.get("Accepted") == 10, 10, "Accepted == 10")
        assert p["Rejected"] == 0 and p["LastRejection"] == "", p
        code = 6813 if emu.mode == "aliyun" else 2402
        emu.set_post_reply(code, "topic illegal" if code == 6813 else "request format error")
        pub.publish("sensors/late/telemetry", '{"temp":1.5}', qos=1)
        pub.publish("alarms/overheat", '{"level":9}', qos=1)
        p = case.wait(name, lambda q: q.get("Rejected") == 2, 10, "Rejected == 2")
        assert str(code) in p["LastRejection"], f"LastRejection {p['LastRejection']!r} lacks the code {code}"
        assert p["Accepted"] == 10, p
        assert p["Invalid"] == len(INVALID), f"Invalid {p['Invalid']}, want {len(INVALID)} refused local payloads"
        warned = [ln for ln in case.d.log().splitlines() if ln.startswith("<4>") and "bad/property" in ln]
        assert warned, "no warning logged for the refused local payloads"
        assert len(emu.posts(include_bad=True)) == 12, "an invalid local payload reached the platform"
        print(f"{name}: 8 property + 2 event posts well-formed on {expect_topic('property')} / "
              f"{expect_topic('event')}; ids {ids[0]}..{ids[-1]} increasing; {stamps} time fields checked; "
              f"latency p50 {percentile(lat, .5):.1f} ms; Accepted {p['Accepted']}, Rejected {p['Rejected']}, "
              f"LastRejection {p['LastRejection']!r}; Invalid {p['Invalid']} (never forwarded; "
              f"{len(warned)} warning line(s), throttled)")


def test_aliyun_property_event_and_replies(args):
    pre = f"/sys/{ALI['product_key']}/{ALI['device_name']}/thing/event/"
    with PlatformEmulator("aliyun", **ALI) as emu:
        _post_flow(args, emu, lambda k: pre + ("property/post" if k == "property" else "overheat/post"),
                   time_required=False)


def test_onenet_property_event_and_replies(args):
    pre = f"$sys/{ONE['product_id']}/{ONE['device_name']}/thing/"
    with PlatformEmulator("onenet", **ONE) as emu:
        _post_flow(args, emu, lambda k: pre + f"{k}/post", time_required=True)


def _reply_matching(args, emu):
    """Replies count only when they answer a post cellgate sent, and once (README: replies are matched
    to the ids of the posts sent): replies with an id never posted (accepting or rejecting) and
    duplicates of replies already counted (an acceptance, a rejection), injected by the emulator,
    change neither Accepted nor Rejected nor LastRejection. A fresh post after them is the barrier:
    its reply is read after theirs."""
    name = emu.mode[:3]
    rej, other = ((6813, "topic illegal"), (460, "request parameter error")) if emu.mode == "aliyun" else \
        ((2402, "request format error"), (2404, "not found"))
    routes = [{"from": "sensors/+/telemetry", "to": name, "as": "property"}]
    backoff = dict(initial="1s", max="2s", stable_after="2s")
    with bridge_case(args, [platform_session(name, emu)], routes, backoff=backoff) as case, case.publisher() as pub:
        case.wait(name, connected, 15, "connected")
        seq = iter(range(1000))

        def post():
            pub.publish("sensors/a/telemetry", json.dumps({"seq": next(seq), "temp": 21.5}), qos=1)

        def settle(accepted, what):
            # A fresh post's reply reaches cellgate after everything the platform sent before it.
            post()
            case.wait(name, lambda q: q["Accepted"] >= accepted, 10, f"Accepted >= {accepted} ({what})")
            time.sleep(0.3)
            return case.props(name)

        def answered():
            return [r for r in emu.post_replies if r["post"] is not None]

        for _ in range(3):
            post()
        case.wait(name, lambda q: q["Accepted"] == 3, 10, "Accepted == 3")
        first = answered()
        unknown = max(int(r["id"]) for r in first) + 1000  # an id cellgate never posted
        sent = [("accepting reply to unknown id", emu.send_post_reply(str(unknown))),
                ("rejecting reply to unknown id", emu.send_post_reply(str(unknown + 1), *rej)),
                ("rejecting event reply to unknown id",
                 emu.send_post_reply(str(unknown + 2), *other, kind="event", event_id="overheat")),
                (f"duplicate of the reply to {first[0]['id']}", emu.resend_post_reply(first[0])),
                (f"duplicate of the reply to {first[2]['id']}", emu.resend_post_reply(first[2]))]
        assert all(n == 1 for _, n in sent), f"injected replies not delivered to cellgate: {sent}"
        p = settle(4, "unknown ids and duplicates")
        assert (p["Accepted"], p["Rejected"], p["LastRejection"]) == (4, 0, ""), \
            f"after 3 posts + 1, 3 replies to ids never posted and 2 duplicates: Accepted {p['Accepted']} " \
            f"(want 4), Rejected {p['Rejected']} (want 0), LastRejection {p['LastRejection']!r} (want '')"

        emu.set_post_reply(*rej)
        post()
        p = case.wait(name, lambda q: q["Rejected"] >= 1, 10, "Rejected >= 1")
        emu.set_post_reply()
        last = p["LastRejection"]
        assert str(rej[0]) in last, p
        rejected = answered()[-1]
        assert rejected["code"] == rej[0], rejected
        sent = [(f"duplicate of the rejection of {rejected['id']}", emu.resend_post_reply(rejected)),
                ("rejecting reply to unknown id", emu.send_post_reply(str(unknown + 3), *other))]
        assert all(n == 1 for _, n in sent), f"injected replies not delivered to cellgate: {sent}"
        p = settle(5, "duplicate rejection")
        assert (p["Accepted"], p["Rejected"], p["LastRejection"]) == (5, 1, last), \
            f"after a duplicate rejection and a rejection of an id never posted: Accepted {p['Accepted']} " \
            f"(want 5), Rejected {p['Rejected']} (want 1), LastRejection {p['LastRejection']!r} (want {last!r})"

        assert not emu.format_errors, emu.format_errors
        print(f"{name}: 3 replies to ids never posted (one accepting, two rejecting) and 3 duplicate replies "
              f"(2 acceptances, 1 rejection) ignored: Accepted {p['Accepted']}, Rejected {p['Rejected']}, "
              f"LastRejection {p['LastRejection']!r}")


def _reply_to_resent_post(args, emu):
    """The platform answers two posts but their PUBACKs are lost with the connection: cellgate sends
    them again on the next one and the platform answers the same ids again. Each post counts once
    in Accepted (README: "a duplicate reply (to a resent post) counts once")."""
    name = emu.mode[:3]
    routes = [{"from": "sensors/+/telemetry", "to": name, "as": "property"}]
    backoff = dict(initial="1s", max="2s", stable_after="2s")
    with bridge_case(args, [platform_session(name, emu)], routes, backoff=backoff) as case, case.publisher() as pub:
        case.wait(name, connected, 15, "connected")
        seq = iter(range(1000))

        def post():
            pub.publish("sensors/a/telemetry", json.dumps({"seq": next(seq), "temp": 21.5}), qos=1)

        def answered():
            return [r for r in emu.post_replies if r["post"] is not None]

        post()
        case.wait(name, lambda q: q["Accepted"] == 1, 10, "Accepted == 1")
        emu.set_puback(False)
        before = len(answered())
        post()
        post()
        wait_for(lambda: len(answered()) >= before + 2, 10, "the platform's answers to the unacknowledged posts")
        case.wait(name, lambda q: q["Accepted"] >= 3, 10, "Accepted >= 3 (first answers)")
        resent_ids = [r["id"] for r in answered()[before:before + 2]]
        emu.set_puback(True)
        emu.kick()
        again = wait_for(lambda: (lambda r: r if len(r) >= 2 else None)(
            [r for r in answered()[before + 2:] if r["id"] in resent_ids]), 15,
            f"posts {resent_ids} sent again and answered again after the reconnect")
        assert all(r["delivered"] for r in again), \
            f"the platform's second answers to {resent_ids} did not reach cellgate (not subscribed yet?): {again}"
        case.wait(name, lambda q: q["Queued"] == 0 and q["State"] == "connected", 10, "Queued == 0 after the resend")
        # A fresh post's reply reaches cellgate after the second answers.
        post()
        case.wait(name, lambda q: q["Accepted"] >= 4, 10, "Accepted >= 4")
        time.sleep(0.3)
        p = case.props(name)
        dups = sum(1 for r in emu.posts() if r["id"] in resent_ids)
        assert not emu.format_errors, emu.format_errors
        assert (p["Accepted"], p["Rejected"]) == (4, 0), \
            f"4 posts, of which {resent_ids} were sent twice ({dups} arrivals) and answered twice each: Accepted " \
            f"{p['Accepted']} (want 4: each post counts once), Rejected {p['Rejected']} (want 0)"
        print(f"{name}: posts {resent_ids} resent after a lost PUBACK ({dups} arrivals, answered twice each) "
              f"counted once: Accepted {p['Accepted']}")


def test_aliyun_reply_matching(args):
    with PlatformEmulator("aliyun", **ALI) as emu:
        _reply_matching(args, emu)


def test_onenet_reply_matching(args):
    with PlatformEmulator("onenet", **ONE) as emu:
        _reply_matching(args, emu)


def test_aliyun_reply_to_resent_post_counts_once(args):
    with PlatformEmulator("aliyun", **ALI) as emu:
        _reply_to_resent_post(args, emu)


def test_onenet_reply_to_resent_post_counts_once(args):
    with PlatformEmulator("onenet", **ONE) as emu:
        _reply_to_resent_post(args, emu)


def test_ids_increase_across_restart(args):
    # The platform message ids are never reused, also when the outbox was empty at a restart.
    tmp = tempfile.mkdtemp(prefix="cellgate-ids-")
    box = {"path": os.path.join(tmp, "outbox.db")}
    routes = [{"from": "sensors/+/telemetry", "to": "ali", "as": "property"}]
    ids = []
    try:
        with PlatformEmulator("aliyun", **ALI) as emu:
            for restart in range(2):
                with bridge_case(args, [platform_session("ali", emu)], routes, outbox=box) as case, \
                        case.publisher() as pub:
                    case.wait("ali", connected, 15, "connected")
                    for i in range(3):
                        pub.publish("sensors/a/telemetry", json.dumps({"run": restart, "i": i}), qos=1)
                    posts = emu.wait_posts(3 * (restart + 1), 10)
                    case.wait("ali", lambda q: q["Queued"] == 0 and q["Accepted"] == 3, 10, "delivered and accepted")
                    ids.append([int(p["id"]) for p in posts[3 * restart:]])
            assert not emu.format_errors, emu.format_errors
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    flat = ids[0] + ids[1]
    assert flat == sorted(flat) and len(set(flat)) == 6, f"ids {ids[0]} then, after a restart, {ids[1]}"
    print(f"ids across a restart with an empty outbox: {ids[0]} -> {ids[1]}")


# --- downlink ----------------------------------------------------------------------------------

def _wait_subscribed(emu, topic, timeout=10):
    wait_for(lambda: any(topic_matches(f, topic) for _, _, f, _ in list(emu.subscribes)), timeout,
             f"a subscription covering {topic}")


def _local_request(app, topic, timeout=5, after=0):
    """The first message the local application got on `topic` (among those after the first `after`)."""
    def find():
        return next((m for m in app.snapshot()[after:] if m[1] == topic), None)
    try:
        return wait_for(find, timeout, f"local message on {topic}")
    except TimeoutError:
        raise AssertionError(f"no local message on {topic} within {timeout}s; local got "
                             f"{[m[1] for m in app.snapshot()]}") from None


_NO_DATA = object()


def _round_trip(emu, app, send, local_topic, answer_topic, answer, want_topic, check_json=True, daemon=None,
                want_code=200, want_data=_NO_DATA):
    """Sends a platform request, checks its local copy, answers locally; returns the round trip in ms.
    With check_json the platform must get its own reply format whatever the answer carried: the
    request's id echoed (a string), a numeric code (want_code), aliyun's "data" (want_data when
    given: the answer's data, carried unchanged), onenet's "msg" a string if present."""
    t0 = time.monotonic()
    seen = len(app.snapshot())
    rid = send()
    local_topic = local_topic.replace("<id>", rid)
    _, _, payload = _local_request(app, local_topic, after=seen)
    if check_json:
        doc = json.loads(payload)
        assert doc.get("id") == rid, f"local copy of the request lost its id: {payload!r}"
    body = answer(rid)
    app.publish(answer_topic.replace("<id>", rid), body, qos=1)
    rep = emu.wait_reply(rid, 5)
    if rep is None:
        why = ""
        if daemon is not None:
            why = "; cellgated logged: " + " | ".join(
                ln for ln in daemon.log().splitlines() if "answer" in ln and answer_topic.replace("<id>", rid) in ln)
        raise AssertionError(f"no platform reply to request {rid} after the local answer {body!r} on "
                             f"{answer_topic.replace('<id>', rid)} (device publishes: "
                             f"{[p['topic'] for p in emu.received()][-5:]}){why}")
    assert rep["topic"] == want_topic.replace("<id>", rid), f"reply on {rep['topic']}, want {want_topic}"
    assert not rep["problems"], f"reply {rep['payload']!r} to the answer {body!r}: {rep['problems']}"
    if check_json:
        got = rep["json"]
        assert isinstance(got, dict) and got.get("id") == rid, \
            f"the reply to the answer {body!r} does not echo the request id {rid!r}: {rep['payload']!r}"
        code = got.get("code")
        assert isinstance(code, int) and not isinstance(code, bool) and code == want_code, \
            f"the reply to the answer {body!r} has code {code!r}, want the number {want_code}: {rep['payload']!r}"
        if emu.mode == "aliyun":
            assert "data" in got, f"Alink reply without data: {rep['payload']!r}"
        elif "msg" in got:
            assert isinstance(got["msg"], str), f"OneJSON reply msg is not a string: {rep['payload']!r}"
        if want_data is not _NO_DATA:
            assert got.get("data") == want_data, \
                f"the answer's data {want_data!r} did not reach the platform: {rep['payload']!r}"
    return (rep["time"] - t0) * 1000


def _answers_without_id(cases):
    """Runs round trips whose local answers carry only the data (cellgate builds the reply: id
    echoed, code 200 unless given); returns {name: ms} and the failures, so every case is reported."""
    times, failures = {}, []
    for name, fn in cases:
        try:
            times[name] = fn()
        except AssertionError as e:
            failures.append(f"{name}: {e}")
    return times, failures


def test_downlink_round_trip_aliyun(args):
    pre = f"/sys/{ALI['product_key']}/{ALI['device_name']}/"
    with PlatformEmulator("aliyun", **ALI) as emu:
        with bridge_case(args, [platform_session("ali", emu)], downlink=[{"from": "ali", "to": "cloud/ali"}]) as case:
            case.wait("ali", connected, 15, "connected")
            with MqttCollector(case.local.host, case.local.port, ["cloud/ali/#"], client_id="app-dl",
                               clean=True) as app:
                _wait_subscribed(emu, pre + "thing/service/property/set")
                _wait_subscribed(emu, pre + "thing/service/reboot")
                rt = [_round_trip(emu, app, lambda: emu.property_set({"LightSwitch": 1, "Level": 2.5}),
                                  "cloud/ali/thing/service/property/set",
                                  "cloud/ali/thing/service/property/set/reply",
                                  lambda rid: json.dumps({"id": rid, "code": 200, "data": {}}),
                                  pre + "thing/service/property/set_reply")]
                # The platform's own reply name works as the local answer topic too.
                rt.append(_round_trip(emu, app, lambda: emu.service_call("reboot", {"delay": 5}),
                                      "cloud/ali/thing/service/reboot", "cloud/ali/thing/service/reboot_reply",
                                      lambda rid: json.dumps({"id": rid, "code": 200, "data": {"ok": 1}}),
                                      pre + "thing/service/reboot_reply"))
                req = [m for m in app.snapshot() if m[1] == "cloud/ali/thing/service/property/set"][0]
                assert json.loads(req[2])["params"] == {"LightSwitch": 1, "Level": 2.5}, req
                # Answers with only the data: a pass-through of the answer would lack id and code.
                bare, failures = _answers_without_id([
                    ("property set answered {}", lambda: _round_trip(
                        emu, app, lambda: emu.property_set({"LightSwitch": 0}), "cloud/ali/thing/service/property/set",
                        "cloud/ali/thing/service/property/set/reply", lambda rid: "{}",
                        pre + "thing/service/property/set_reply", daemon=case.d, want_data={})),
                    ("service call answered {\"data\":{...}}", lambda: _round_trip(
                        emu, app, lambda: emu.service_call("reboot", {"delay": 1}), "cloud/ali/thing/service/reboot",
                        "cloud/ali/thing/service/reboot_reply",
                        lambda rid: json.dumps({"data": {"ok": 1, "eta": 30}}),
                        pre + "thing/service/reboot_reply", daemon=case.d, want_data={"ok": 1, "eta": 30})),
                    ("service call answered {\"code\":460,\"data\":{}}", lambda: _round_trip(
                        emu, app, lambda: emu.service_call("reboot", {"delay": 2}), "cloud/ali/thing/service/reboot",
                        "cloud/ali/thing/service/reboot/reply", lambda rid: json.dumps({"code": 460, "data": {}}),
                        pre + "thing/service/reboot_reply", daemon=case.d, want_code=460, want_data={}))])
                assert not failures, "answers without an id:\n  " + "\n  ".join(failures)
                assert not emu.format_errors, emu.format_errors
                print(f"aliyun downlink: property set and service call round trips {rt[0]:.1f} / {rt[1]:.1f} ms "
                      f"(platform -> local -> answer -> platform reply with the echoed id); answers without an id: "
                      + ", ".join(f"{k} {v:.1f} ms" for k, v in bare.items()))


def test_downlink_round_trip_onenet(args):
    pre = f"$sys/{ONE['product_id']}/{ONE['device_name']}/"
    with PlatformEmulator("onenet", **ONE) as emu:
        with bridge_case(args, [platform_session("one", emu)], downlink=[{"from": "one", "to": "cloud/one"}]) as case:
            case.wait("one", connected, 15, "connected")
            with MqttCollector(case.local.host, case.local.port, ["cloud/one/#"], client_id="app-dl",
                               clean=True) as app:
                for t in ("thing/property/set", "thing/property/get", "thing/service/reset/invoke",
                          "cmd/request/1"):
                    _wait_subscribed(emu, pre + t)
                ok = lambda rid: json.dumps({"id": rid, "code": 200, "msg": "success"})  # noqa: E731
                rt = {"set": _round_trip(emu, app, lambda: emu.property_set({"temp": "30.5"}),
                                         "cloud/one/thing/property/set", "cloud/one/thing/property/set/reply", ok,
                                         pre + "thing/property/set_reply")}
                rt["get"] = _round_trip(emu, app, lambda: emu.property_get(["temp"]), "cloud/one/thing/property/get",
                                        "cloud/one/thing/property/get_reply",
                                        lambda rid: json.dumps({"id": rid, "code": 200, "msg": "ok",
                                                                "data": {"temp": 21.5}}),
                                        pre + "thing/property/get_reply")
                rt["invoke"] = _round_trip(emu, app, lambda: emu.service_call("reset", {"hard": False}),
                                           "cloud/one/thing/service/reset/invoke",
                                           "cloud/one/thing/service/reset/invoke/reply",
                                           lambda rid: json.dumps({"id": rid, "code": 200, "msg": "ok",
                                                                   "data": {"result": "on"}}),
                                           pre + "thing/service/reset/invoke_reply")
                rt["cmd"] = _round_trip(emu, app, lambda: emu.command(b"open-valve"), "cloud/one/cmd/request/<id>",
                                        "cloud/one/cmd/request/<id>/reply", lambda rid: b"done",
                                        pre + "cmd/response/<id>", check_json=False)
                rep = [r for r in emu.device_replies if r["topic"].startswith(pre + "cmd/response/")][0]
                assert rep["payload"] == b"done", rep
                # Answers with only the data: a pass-through of the answer would lack id and code.
                bare, failures = _answers_without_id([
                    ("property set answered {}", lambda: _round_trip(
                        emu, app, lambda: emu.property_set({"temp": "31.5"}), "cloud/one/thing/property/set",
                        "cloud/one/thing/property/set/reply", lambda rid: "{}", pre + "thing/property/set_reply",
                        daemon=case.d)),
                    ("property get answered {\"data\":{...}}", lambda: _round_trip(
                        emu, app, lambda: emu.property_get(["temp"]), "cloud/one/thing/property/get",
                        "cloud/one/thing/property/get_reply", lambda rid: json.dumps({"data": {"temp": 22.5}}),
                        pre + "thing/property/get_reply", daemon=case.d, want_data={"temp": 22.5})),
                    ("invoke answered {\"data\":{...}}", lambda: _round_trip(
                        emu, app, lambda: emu.service_call("reset", {"hard": True}),
                        "cloud/one/thing/service/reset/invoke", "cloud/one/thing/service/reset/invoke/reply",
                        lambda rid: json.dumps({"data": {"result": "off"}}), pre + "thing/service/reset/invoke_reply",
                        daemon=case.d, want_data={"result": "off"}))])
                assert not failures, "answers without an id:\n  " + "\n  ".join(failures)
                assert not emu.format_errors, emu.format_errors
                print("onenet downlink round trips: " + ", ".join(f"{k} {v:.1f} ms" for k, v in rt.items())
                      + "; answers without an id: " + ", ".join(f"{k} {v:.1f} ms" for k, v in bare.items()))


def test_downlink_round_trip_generic(args):
    # generic has no request topics of its own: the downlink entry names the cloud filters, the
    # message lands on <to>/<cloud topic>, and the application answers through an uplink route.
    with started_mosquitto(keep=args.keep) as cloud:
        sessions = [dict(name="lab", platform="generic", endpoint=cloud.endpoint, client_id="gw-lab", tls=False,
                         keepalive="60s")]
        routes = [{"from": "app/answer/+", "to": "lab", "as": "raw", "topic": "ack/{client_id}/{1}", "qos": 1}]
        downlink = [{"from": "lab", "to": "cloud/lab", "filters": ["cmd/gw-lab/#"]}]
        with bridge_case(args, sessions, routes, downlink=downlink) as case, \
                MqttCollector(cloud.host, cloud.port, ["ack/#"], client_id="cloud-app") as backend, \
                MqttCollector(case.local.host, case.local.port, ["cloud/lab/#"], client_id="app-dl",
                              clean=True) as app:
            case.wait("lab", connected, 15, "connected")
            wait_for(lambda: cloud.count("Received SUBSCRIBE from gw-lab") and
                     any(m.group(1) == "cmd/gw-lab/#" for _, m in cloud.events(r"^\d+: \t(\S+) \(QoS \d\)$")),
                     10, "cellgate subscribed to cmd/gw-lab/#")
            rts = []
            for i in range(5):
                t0 = time.monotonic()
                body = bytes([i, 0, 255]) + b"reboot"
                backend.publish(f"cmd/gw-lab/reboot/{i}", body, qos=1)
                _, _, payload = _local_request(app, f"cloud/lab/cmd/gw-lab/reboot/{i}")
                assert payload == body, f"downlink payload changed: {payload!r}"
                app.publish(f"app/answer/{i}", f"done-{i}", qos=1)
                backend.wait_count(i + 1, 5)
                rts.append((backend.snapshot()[i][0] - t0) * 1000)
            backend.publish("cmd/other/x", b"not ours", qos=1)
            time.sleep(0.5)
            got = [(t, p) for _, t, p in backend.snapshot()]
            assert got == [(f"ack/gw-lab/{i}", f"done-{i}".encode()) for i in range(5)], got
            local = [t for _, t, _ in app.snapshot()]
            assert local == [f"cloud/lab/cmd/gw-lab/reboot/{i}" for i in range(5)], local
            p = case.props("lab")
            assert p["Invalid"] == 0 and p["Dropped"] == 0, p
            print(f"generic downlink: 5 round trips cloud -> cloud/lab/<topic> -> answer route -> cloud, "
                  f"p50 {percentile(rts, .5):.1f} ms, max {max(rts):.1f} ms; unmatched cloud topic not carried")


if __name__ == "__main__":
    run([test_raw_route_to_cloud_mosquitto, test_aliyun_property_event_and_replies,
         test_onenet_property_event_and_replies, test_aliyun_reply_matching, test_onenet_reply_matching,
         test_aliyun_reply_to_resent_post_counts_once, test_onenet_reply_to_resent_post_counts_once,
         test_ids_increase_across_restart,
         test_downlink_round_trip_aliyun, test_downlink_round_trip_onenet, test_downlink_round_trip_generic])
