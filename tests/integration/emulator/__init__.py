"""The cloud platforms, emulated: an MQTT broker on loopback that holds a device to what Aliyun
IoT Platform and OneNET document (aliyun.py, onenet.py), for the cloud and bridge tests.

Why not a real broker: mosquitto accepts any login and any payload. It cannot check an Aliyun
HMAC password or a OneNET token, answer an Alink or OneJSON post with the platform's reply and
error codes, drop the 31st message in a second like Aliyun, reset and ban a device for 5 minutes
after 100 QoS 1 publishes in 5 s like OneNET, kick the older of two logins of one device, send
platform requests and match the device's answers, or withhold a PUBACK on demand. Tests that only
need a broker use real mosquitto (../brokers.py). Generic mode is kept for the tests that stop and
start the cloud under load: the emulator records every PUBLISH as it arrives, on the same port
across restarts, which a subscriber on a real broker misses while it reconnects.

The rules are written from the platforms' public documents, independently of the daemon's C++
implementation, and test_cloud_emulator.py checks them against the documents' published signing
examples: an honest oracle.

    emu = PlatformEmulator("aliyun", product_key="a1B2c3D4e5F", device_name="gw-001",
                           device_secret="s3cr3t")
    with emu:                                   # listens on 127.0.0.1:emu.port (plain TCP)
        ... emu.connects, emu.pings(), emu.kicks, emu.violations, emu.protocol_errors

Modes:
  aliyun   clientId "<id>|securemode=3,signmethod=hmacsha256|hmacsha1|hmacmd5[,timestamp=<ms>]|"
           (securemode 2 is TLS, and this listener is plain TCP), username "dn&pk", password the
           HMAC of the sorted content with the device secret (hex, any case), keepalive 30..1200.
           Refusals: 1 protocol version, 2 clientId format / keepalive, 4 username or password.
           A second login of the same device kicks the first (and, with ext bit 1, sends it the
           /ext/notify "Kicked by the same device" message first).
  onenet   username = product id, clientId = device name, password = 2018-10-31 token (HMAC with the
           base64-decoded device key, et in the future, res products/<pid>/devices/<dn>, values
           URL-encoded as documented); keepalive 10..1800, clean session 1, no will (else the
           connection is dropped without CONNACK); bad token -> 4. More than 10 CONNECTs of one
           device in 5 s -> TCP reset, a recorded violation and a 5-minute ban.
  generic  accepts any CONNECT (optionally checks users={name: password}).
Every mode: QoS 2 or retained PUBLISH -> recorded protocol error and disconnect (as the platforms
do); PINGREQ answered and recorded; SUBSCRIBE/PUBLISH QoS 0/1; 1.5 x keepalive without uplink ->
the server closes ("Keepalive timeout"). freeze()/thaw() stop/resume all reading and answering.

Uplink (every PUBLISH is recorded in emu.publishes: dicts with time (monotonic), wall, conn,
client_id, identity, topic, payload (bytes), qos, retain, mid, dup, dropped, acked (PUBACK sent), and
for posts kind "property"|"event", event_id, id, json, format_error, reply):
  check_formats=True  property/event posts are checked and answered on the reply topic:
      aliyun  /sys/pk/dn/thing/event/property/post and .../thing/event/<eventId>/post, Alink JSON
              {"id":"<0..4294967295>","version":"1.0","params":{...},"method":"thing.event.property.post"
              | "thing.event.<eventId>.post"[,"sys":{"ack":0|1}]}; property params flat or {value,time},
              event params {"value":{...},"time":ms}; time in ms, at most 24 h ahead. Reply on
              <topic>_reply {"code":200,"data":{},"id":..,"message":"success","version":"1.0"} (none
              with sys.ack 0); errors 6207 not JSON, 6300 method, 460 other params.
      onenet  $sys/pid/dn/thing/property/post and .../thing/event/post, OneJSON {"id":"<<=13 digits>",
              "version":"1.0","params":{"k":{"value":v,"time":ms}}} (event: value is an object). Reply
              on <topic>/reply {"id":..,"code":200,"msg":"success"}; error {"id":null,"code":2402,..}.
      strict_format=True also requires "version" (and, aliyun, "method"), which the platforms
      tolerate missing. Replies reach the device only when it subscribed to them (or, aliyun, _ss=1).
  emu.posts(kind=None) / emu.wait_posts(n, timeout=10, kind=None): accepted posts in arrival order.
  emu.received(topic_filter="#"): every publish on matching topics.
  emu.format_errors, emu.post_replies (topic, payload, json, code, id, delivered, post).
  emu.set_post_reply(code=200, message="success", enabled=True): answer later good posts with
      another code (e.g. 6813, 429, 2402; the id is echoed) or not at all.
  emu.send_post_reply(id, code=200, message="success", kind="property", event_id=None) -> delivered:
      a platform reply that answers no post of this connection (an id never posted, or a second
      answer to one already answered), on the kind's reply topic in the platform's format;
      emu.resend_post_reply(record) sends a post_replies record again, byte for byte. Both are
      recorded in post_replies with "post": None and "injected": True.
  emu.set_puback(enabled=True): withhold the PUBACK of later QoS 1 publishes (they are still
      recorded, checked and answered; "acked" False in their record), as when the platform's PUBACK
      is lost with the connection: the device must send them again.
Rate limits (rate_limit=None: the platform's; False: none; (count, seconds): other numbers):
  aliyun  more than 30 publishes in any 1 s -> the excess is PUBACKed but dropped (not checked, not
          answered, not delivered): emu.rate_drops and a violation {"kind":"rate","action":"dropped"}.
  onenet  more than 100 QoS 1 (300 QoS 0) publishes in any 5 s -> no PUBACK, TCP reset, violation
          {"kind":"rate","action":"banned"} and a ban_seconds ban (logins dropped meanwhile).
  Violations of the login/ping limits have kind "login"/"ping". Studio's 1 msg/s uplink delay is
  not emulated (it delays, it does not lose).
Downlink (to the connected device, if it subscribed to the request topic; returns the request id):
  emu.property_set(params, qos=0)          aliyun thing/service/property/set, onenet thing/property/set
  emu.property_get(identifiers, qos=0)     onenet thing/property/get
  emu.service_call(service_id, params=None, qos=0)  aliyun thing/service/<id>, onenet .../<id>/invoke
  emu.command(payload, qos=0)              onenet cmd/request/<id>, aliyun rrpc/request/<id> (opaque)
  emu.wait_reply(request_id, timeout=5) -> the device's answer or None: a dict with topic, payload,
      json, id, code, request (the emu.downlinks record), problems (list of format complaints: id not
      echoed, code not a number, Alink without data, wrong reply topic). All answers are in
      emu.device_replies; problems are also in emu.format_errors. emu.downlinks has "delivered".

Rooms: broker.py the emulator itself; aliyun.py, onenet.py the platforms' rules; rules.py what they
share; mqtt_wire.py the packets; client.py MiniClient (a blocking client that sees resets and
missing CONNACKs) and Kicker (a cloned device that logs in again after each kick).
"""

from . import aliyun, onenet
from .broker import ConnectRecord, PlatformEmulator
from .client import Kicker, MiniClient
from .mqtt_wire import topic_matches

__all__ = ["aliyun", "onenet", "ConnectRecord", "PlatformEmulator", "Kicker", "MiniClient", "topic_matches"]
