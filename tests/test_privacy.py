"""The privacy gate on real processes (docs/privacy.md): supervisor,
beat-kafka-dev, receiver and inference with a TCF vendor id. A GDPR request
carrying user.id, buyeruid, device.ifa, lat/lon and segments whose TCF
string lacks the personalised-ads purposes still gets a contextual bid, and
none of those values reach the bid log on Kafka (read back with kcat, the
way test_receiver.py does); the same request with full consent is counted
as personal. The privacy outcome metric counts each decision."""
import json, tempfile

from beatlib import Procs, free_ports, healthz, metric, wait_for, check
from test_inference_sync import (CAMPAIGNS, MULTS, bid, ckpt, inference_argv, post,
                                 start_supervisor, state)
from test_receiver import TOPIC, kafka_events, start_kafka

VENDOR = 755
SECRETS = ("uid-secret-7", "buid-secret-7", "ifa-secret-7", "seg-secret-7", "48.8566",
           "2.3522")
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def tcf(purposes, vendors, special=(), max_vendor=800):
    """A TCF v2 core segment with these purposes, vendor consents and special
    features (layout: common/beat_tcf.c)."""
    def put(v, n):
        return format(v, f"0{n}b")
    b = put(2, 6) + put(16000000000, 36) * 2 + put(92, 12) + put(1, 12) + put(1, 6)
    b += put(4, 6) + put(13, 6) + put(150, 12) + put(4, 6) + "00"  # EN, list 150, policy 4
    b += "".join("1" if i in special else "0" for i in range(1, 13))
    b += "".join("1" if i in purposes else "0" for i in range(1, 25)) + "0" * 24
    b += "0" + put(3, 6) + put(4, 6)  # purpose one treatment, publisher CC "DE"
    b += put(max_vendor, 16) + "0" + "".join("1" if i in vendors else "0"
                                          for i in range(1, max_vendor + 1))
    b += put(0, 16) + "0" + put(0, 12)  # no legitimate interests, no restrictions
    b += "0" * (-len(b) % 6)
    return "".join(B64[int(b[i:i + 6], 2)] for i in range(0, len(b), 6))


def request(auction, regs, consent=None):
    user = {"id": SECRETS[0], "buyeruid": SECRETS[1],
            "data": [{"id": "dmp", "segment": [{"id": SECRETS[3]}]}]}
    if consent:
        user["consent"] = consent
    return json.dumps({
        "id": auction, "imp": [{"id": "1", "bidfloor": 0.03, "banner": {"w": 300, "h": 250}}],
        "site": {"id": "102855", "domain": "www.foobar.com", "cat": ["IAB3-1"],
                 "publisher": {"id": "8953"}},
        "device": {"ifa": SECRETS[2], "geo": {"lat": 48.8566, "lon": 2.3522}},
        "user": user, "regs": regs})


def test_no_consent_still_bids_contextually_and_logs_nothing_personal():
    sup_port, inf_port, rcv_port, bidlog_port, kport, kadmin = free_ports(6)
    tmp = tempfile.mkdtemp(prefix="privacy-")
    with Procs(tmp) as procs:
        start_kafka(procs, "kafka", kport, kadmin)
        start_supervisor(procs, tmp, sup_port)
        procs.start("receiver", ["beat-receiver", "--listen", f"127.0.0.1:{rcv_port}",
                                 "--bidlog-listen", f"tcp://127.0.0.1:{bidlog_port}",
                                 "--kafka-brokers", f"127.0.0.1:{kport}", "--topic", TOPIC,
                                 "--notice-secret", "sync-test-secret"])
        wait_for(lambda: healthz(rcv_port)["ready"], 10, what="receiver ready")
        inf = procs.start("inference", inference_argv(tmp, inf_port, bidlog_port, "inf-priv",
                                                     rcv_port, "--tcf-vendor-id", str(VENDOR)))
        sbase = f"http://127.0.0.1:{sup_port}"
        with open(CAMPAIGNS, "rb") as f:
            post(sbase, "/v1/campaigns", f.read(), method="PUT")
        post(sbase, "/v1/state", state(MULTS))
        post(sbase, "/v1/checkpoint", ckpt(), ctype="application/octet-stream")
        wait_for(lambda: healthz(inf_port) and healthz(inf_port)["ready"], 10,
                 what="inference ready")

        cases = [  # auction, regs, consent, outcome label
            ("priv-purpose", {"gdpr": 1}, tcf({1}, {VENDOR}), 'outcome="contextual",reason="tcf_purpose"'),
            ("priv-vendor", {"gdpr": 1}, tcf({1, 3, 4}, {VENDOR + 1}),
             'outcome="contextual",reason="tcf_vendor"'),
            ("priv-usp", {"us_privacy": "1YYN"}, None, 'outcome="contextual",reason="usp_opt_out"'),
            ("priv-gpp", {"gpp": "DBABLA~BVQVAAAAAUA.YA", "gpp_sid": [7]}, None,
             'outcome="contextual",reason="gpp_opt_out"'),
            ("priv-consent", {"gdpr": 1}, tcf({1, 3, 4}, {VENDOR}, special={1}),
             'outcome="personal",reason="consent"'),
        ]
        for auction, regs, consent, label in cases:
            st, _, body = bid(inf_port, request(auction, regs, consent))
            check(st == 200, f"{auction}: {st} {body[:300]!r}")
            check(not any(s.encode() in body for s in SECRETS), f"{auction}: response {body!r}")
            n = metric(inf_port, "beat_inference_privacy_total{" + label + "}")
            check(n == 1, f"{auction}: {label} = {n}")

        # Every bid reached Kafka through the receiver; none carries the ids.
        auctions = {a for a, *_ in cases}
        evs = wait_for(lambda: (lambda e: e if auctions <= {k for k, _ in e} else None)(
            kafka_events(kport)), 20, interval=0.3, what="bid events on Kafka")
        for key, ev in evs:
            raw = json.dumps(ev)
            check(not any(s in raw for s in SECRETS), f"bid log of {key} carries {raw}")
        check(inf.alive(), "inference died")
