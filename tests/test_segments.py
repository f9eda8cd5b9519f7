"""First-party segment lists on real processes (docs/campaigns.md
"lists_include", docs/contracts.md "Segment lists"): a list uploaded to the
supervisor reaches inference, a campaign targeting it bids for listed users
only; replacing the list changes who that is; the list survives a supervisor
restart (a fresh inference node gets it from the restarted supervisor); a
delete takes it away. The upload API refuses bad ids (400 naming the line),
oversize bodies (413), wrong media types (415) and missing tokens (401)."""
import json, os, tempfile

from beatlib import Procs, free_ports, get_json, healthz, http, metric_sum, wait_for, check
from test_inference_sync import CAMPAIGNS, ckpt, inference_argv, start_supervisor, state

TOKEN = "segments-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def campaigns():
    """acme-shoes alone, targeting the first-party list "crm"."""
    with open(CAMPAIGNS) as f:
        cs = json.load(f)
    c = next(c for c in cs["campaigns"] if c["id"] == "acme-shoes")
    c["targeting"]["lists_include"] = ["crm"]
    return json.dumps({"v": 4, "campaigns": [c]})


def write(base, method, path, body, ctype="application/json", auth=True):
    h = {"Content-Type": ctype, **(AUTH if auth else {})}
    return http(method, base + path, body, h)


def request(user):
    return json.dumps({
        "id": "seg-1", "imp": [{"id": "1", "bidfloor": 0.01, "banner": {"w": 300, "h": 250}}],
        "site": {"id": "s1", "domain": "news.example"}, "user": user})


def bids(port, user):
    st, _, _ = http("POST", f"http://127.0.0.1:{port}/openrtb2/bid", request(user),
                    {"Content-Type": "application/json"})
    check(st in (200, 204), f"bid -> {st}")
    return st == 200


def put_list(base, body):
    st, _, b = write(base, "PUT", "/v1/segments/crm", body, "text/plain")
    check(st == 200, f"PUT list -> {st} {b!r}")
    return json.loads(b)


def test_list_upload_targets_listed_users_and_survives_restart():
    sup_port, inf_port, inf2_port, bidlog_port = free_ports(4)
    tmp = tempfile.mkdtemp(prefix="segments-")
    sup_args = ("--admin-token", TOKEN, "--max-segment-bytes", "4096")
    with Procs(tmp) as procs:
        sup = start_supervisor(procs, tmp, sup_port, extra=sup_args)
        base = f"http://127.0.0.1:{sup_port}"
        inf = procs.start("inference", inference_argv(tmp, inf_port, bidlog_port, "inf-seg"))
        for path, body, ctype in (("/v1/campaigns", campaigns(), "application/json"),
                                  ("/v1/state", state({"acme-shoes": 1.0}), "application/json"),
                                  ("/v1/checkpoint", ckpt(), "application/octet-stream")):
            st, _, b = write(base, "PUT" if path == "/v1/campaigns" else "POST", path, body, ctype)
            check(st == 200, f"{path} -> {st} {b!r}")
        wait_for(lambda: healthz(inf_port)["ready"], 10, what="inference ready")

        # No list yet: the campaign reaches nobody, and says why.
        check(not bids(inf_port, {"id": "u-1"}), "bid before any list")
        check(metric_sum(inf_port, "beat_inference_nobid_total", reason="lists") >= 1,
              "no-bid reason lists")

        # The API's refusals.
        st, _, _ = write(base, "PUT", "/v1/segments/crm", "u-1\n", "text/plain", auth=False)
        check(st == 401, f"no token -> {st}")
        st, _, b = write(base, "PUT", "/v1/segments/crm", "u-1\nbad id\n", "text/plain")
        check(st == 400 and b"line 2" in b, f"bad id -> {st} {b!r}")
        st, _, _ = write(base, "PUT", "/v1/segments/crm", "u\n" * 3000, "text/plain")
        check(st == 413, f"oversize -> {st}")
        st, _, _ = write(base, "PUT", "/v1/segments/crm", "u-1\n", "application/json")
        check(st == 415, f"json body -> {st}")
        st, _, _ = write(base, "PUT", "/v1/segments/bad%20id", "u-1\n", "text/plain")
        check(st == 400, f"bad list id -> {st}")
        check(get_json(base + "/v1/segments") == {"version": 0, "lists": []}, "nothing stored")

        # Upload: listed users (by user.id or buyeruid) get bids, others not.
        r = put_list(base, "u-1\r\nu-2\n\nu-1\n")
        check(r == {"version": 1, "size": 2}, f"put -> {r}")
        wait_for(lambda: healthz(inf_port)["segments_version"] == 1, 10, what="list synced")
        check(bids(inf_port, {"id": "u-1"}), "listed user.id")
        check(bids(inf_port, {"buyeruid": "u-2"}), "listed buyeruid")
        check(not bids(inf_port, {"id": "u-3"}), "unlisted user")
        check(not bids(inf_port, {}), "no user id")

        # Replace: u-3 only.
        check(put_list(base, "u-3\n")["version"] == 2, "second version")
        wait_for(lambda: healthz(inf_port)["segments_version"] == 2, 10, what="list replaced")
        check(not bids(inf_port, {"id": "u-1"}), "u-1 after replace")
        check(bids(inf_port, {"id": "u-3"}), "u-3 after replace")
        lists = get_json(base + "/v1/segments")
        check(lists["version"] == 2 and [(l["id"], l["version"], l["size"]) for l in
                                         lists["lists"]] == [("crm", 2, 1)], f"GET {lists}")

        # Restart the supervisor: the list is in its database; a node that
        # starts afterwards gets it from there.
        sup.stop()
        sup = start_supervisor(procs, tmp, sup_port, name="sup2", extra=sup_args)
        check(get_json(base + "/v1/segments/crm")["version"] == 2, "list after restart")
        inf2 = procs.start("inference2", inference_argv(tmp, inf2_port, bidlog_port, "inf-seg2"))
        wait_for(lambda: healthz(inf2_port)["ready"]
                 and healthz(inf2_port)["segments_version"] == 2, 10, what="node 2 synced")
        check(bids(inf2_port, {"id": "u-3"}) and not bids(inf2_port, {"id": "u-1"}),
              "node 2 bids on the stored list")
        check(bids(inf_port, {"id": "u-3"}), "node 1 kept its lists")

        # Delete: nobody is listed any more.
        st, _, b = write(base, "DELETE", "/v1/segments/crm", None)
        check(st == 200 and json.loads(b)["version"] == 3, f"delete -> {st} {b!r}")
        st, _, _ = write(base, "DELETE", "/v1/segments/crm", None)
        check(st == 404, f"second delete -> {st}")
        wait_for(lambda: healthz(inf_port)["segments_version"] == 3, 10, what="delete synced")
        check(not bids(inf_port, {"id": "u-3"}), "u-3 after delete")
        inf.stop()
        inf2.stop()
        check(not [e for e in sup.events() if e.get("lvl") == "error"], "no errors")
