"""The HTTP edges under slow and hostile clients, with raw sockets: slowloris
(headers trickled) and slow bodies (a large Content-Length, bytes trickled)
do not lock /healthz out and are closed by their absolute deadlines, at the
connection cap the oldest waiting socket makes room; an unauthenticated or
oversize write is refused before its body is sent, a text/plain write gets
415 (docs/deploy.md "HTTP edges"). Inference's own bid server is held to
the same on its bid port, caps the connections of one address (from
127.0.0.2: the slot-pinning attack of sockets dripping line breaks does
not stop bidding), and out of descriptors it pauses accept and listens
again by itself. Limits come from the environment so that a binary
without these edges still starts (and fails the checks, not the start)."""
import json, os, shutil, socket, tempfile, threading, time

from beatlib import BIN, Procs, check, free_port, free_ports, get_json, http, metric, wait_for
from test_inference import fixture, load_formats
from test_inference_sync import inference_argv, start_supervisor as start_sup_ipc

TOKEN = "sekrit"


class Flood:
    """Slow sockets trickling one byte each every `every` seconds from a
    thread; records when the server closed each (EOF, reset or a reply)."""

    def __init__(self, port, every=0.15, src="127.0.0.1", keep_200=False):
        """src: the address the sockets connect from (all of 127/8 is
        loopback on Linux); keep_200: a 200 reply (to a prefix that is a
        whole request) is not taken as the server closing the socket."""
        self.port, self.every, self.src, self.keep_200 = port, every, src, keep_200
        self.socks = []  # [sock, prefix, trickle byte, opened_at, closed_at, trickle_from]
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.th = threading.Thread(target=self.run, daemon=True)

    def add(self, n, prefix, trickle, after=0.0):
        """n sockets sending prefix at once, then trickle from `after`
        seconds on (silent until then)."""
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", self.port), timeout=5,
                                         source_address=(self.src, 0))
            s.setblocking(False)
            try:
                if prefix:
                    s.send(prefix)
            except OSError:
                pass
            with self.lock:
                now = time.monotonic()
                self.socks.append([s, prefix, trickle, now, None, now + after])

    def run(self):
        while not self.stop.wait(self.every):
            with self.lock:
                live = [e for e in self.socks if e[4] is None]
            for e in live:
                s = e[0]
                try:
                    got = s.recv(4096)
                    if self.keep_200 and got.startswith(b"HTTP/1.1 200 "):
                        pass  # the answer to its one request: still open
                    else:  # a reply (408) or b"" (EOF)
                        e[4] = time.monotonic()
                        continue
                except BlockingIOError:
                    pass
                except OSError:
                    e[4] = time.monotonic()
                    continue
                if time.monotonic() < e[5]:
                    continue
                try:
                    s.send(e[2])
                except BlockingIOError:
                    pass
                except OSError:
                    e[4] = time.monotonic()

    def open_count(self):
        with self.lock:
            return sum(1 for e in self.socks if e[4] is None)

    def longest_open_s(self, among=None):
        with self.lock:
            return max((e[4] or time.monotonic()) - e[3] for e in (among or self.socks))

    def closed_within(self, seconds):
        """How many were closed no later than `seconds` after they opened."""
        with self.lock:
            return sum(1 for e in self.socks if e[4] is not None and e[4] - e[3] <= seconds)

    def __enter__(self):
        self.th.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.th.join()
        for e in self.socks:
            e[0].close()


def healthz_ms(port):
    t0 = time.monotonic()
    st, _, body = http("GET", f"http://127.0.0.1:{port}/healthz", timeout=3)
    check(st == 200 and b'"svc"' in body, f"/healthz -> {st}")
    return (time.monotonic() - t0) * 1000


def start_supervisor(procs, tmp, env):
    port = free_port()
    argv = ["beat-supervisor", "--listen", f"127.0.0.1:{port}",
            "--db", os.path.join(tmp, "sup.db"), "--pub", f"ipc://{tmp}/pub.ipc",
            "--rep", f"ipc://{tmp}/rep.ipc", "--lease", f"ipc://{tmp}/lease.ipc",
            "--hash-bits", "10", "--admin-token", TOKEN]
    procs.start("sup", argv, env=dict(os.environ, **env))
    wait_for(lambda: get_json(f"http://127.0.0.1:{port}/healthz")["svc"], 10,
             what="supervisor serving")
    return port


def test_slow_clients_closed_by_deadline_and_healthz_answers():
    tmp = tempfile.mkdtemp(prefix="edges-")
    env = {"BEAT_HTTP_MAX_CONNS": "200", "BEAT_HTTP_HEADER_TIMEOUT_MS": "1500",
           "BEAT_HTTP_BODY_TIMEOUT_MS": "1500"}
    with Procs(os.path.join(tmp, "logs")) as procs:
        port = start_supervisor(procs, tmp, env)
        body_head = (f"POST /v1/state HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
                     "Content-Type: application/json\r\nContent-Length: 4000\r\n\r\n").encode()
        with Flood(port) as fl:
            fl.add(150, b"GET /v1/versions HTTP/1.1\r\nHost: x\r\n", b"X")
            fl.add(150, body_head, b" ")
            # 300 slow sockets against a cap of 200: an honest client still gets in
            worst = max(healthz_ms(port) for _ in range(10))
            check(worst < 2000, f"/healthz took {worst:.0f} ms under the flood")
            # every slow socket is closed by its deadline (1.5 s, timers to the ms)
            wait_for(lambda: fl.open_count() == 0, 8, what="slow sockets closed")
            longest = fl.longest_open_s()
            check(longest < 4.0, f"a slow socket stayed open {longest:.1f} s")
        check(metric(port, 'beat_http_timeouts_total{phase="header"}') > 0)
        check(metric(port, 'beat_http_timeouts_total{phase="body"}') > 0)
        check(metric(port, "beat_http_evicted_total") > 0)
        healthz_ms(port)


def raw(port, data, wait=2.0):
    """Sends data and returns what comes back within wait seconds (until EOF)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=wait)
    s.sendall(data)
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
            if b"\r\n\r\n" in out and b"}" in out:
                break
    except socket.timeout:
        pass
    s.close()
    return out


def test_writes_refused_before_the_body():
    tmp = tempfile.mkdtemp(prefix="edges-")
    with Procs(os.path.join(tmp, "logs")) as procs:
        port = start_supervisor(procs, tmp, {})
        big = 20 * 1024 * 1024  # over --max-json-bytes (16 MiB), under the 64 MiB server limit
        # no token: 401 from the head alone; the 20 MiB are never sent
        r = raw(port, (f"PUT /v1/campaigns HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                       f"\r\nContent-Length: {big}\r\n\r\n").encode())
        check(r.startswith(b"HTTP/1.1 401 "), f"unauthenticated PUT -> {r[:60]!r}")
        check(b"WWW-Authenticate: Bearer" in r)
        # token, but over the route's limit: 413, again before the body
        r = raw(port, (f"POST /v1/state HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
                       f"Content-Type: application/json\r\nContent-Length: {big}\r\n\r\n").encode())
        check(r.startswith(b"HTTP/1.1 413 "), f"oversize POST -> {r[:60]!r}")
        # the client may keep sending: the server drains briefly, then closes
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall((f"PUT /v1/campaigns HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                   f"\r\nContent-Length: {big}\r\n\r\n").encode())
        sent, t0, closed = 0, time.monotonic(), False
        while time.monotonic() - t0 < 10 and sent < big:
            try:
                sent += s.send(b"x" * 65536)
            except OSError:
                closed = True
                break
        s.close()
        check(closed and sent < big, f"server read {sent} bytes of a refused body")
        # a write a browser could send cross-site without asking: 415
        st, _, b = http("POST", f"http://127.0.0.1:{port}/v1/state", b"{}",
                        {"Authorization": f"Bearer {TOKEN}", "Content-Type": "text/plain"})
        check(st == 415, f"text/plain POST -> {st} {b!r}")
        st, _, b = http("PUT", f"http://127.0.0.1:{port}/v1/campaigns", b"{}",
                        {"Authorization": f"Bearer {TOKEN}"})  # urllib: form-urlencoded
        check(st == 415, f"form-encoded PUT -> {st} {b!r}")
        check(metric(port, 'beat_http_rejected_total{reason="media_type"}') == 2)
        healthz_ms(port)


def lone_inference(name, *extra):
    """(port, argv) of a beat-inference with nothing behind it (its
    supervisor and bid log ports are free and stay unanswered): the HTTP
    edge alone."""
    port, pub, rep, lease, bidlog = free_ports(5)
    return port, ["beat-inference", "--listen", f"127.0.0.1:{port}",
                  "--supervisor-pub", f"tcp://127.0.0.1:{pub}",
                  "--supervisor-rep", f"tcp://127.0.0.1:{rep}",
                  "--supervisor-lease", f"tcp://127.0.0.1:{lease}",
                  "--receiver-bidlog", f"tcp://127.0.0.1:{bidlog}", "--name", name, *extra]


def test_inference_bid_port_survives_slow_flood():
    tmp = tempfile.mkdtemp(prefix="edges-")
    port, argv = lone_inference("inf-edges", "--max-conns", "100", "--read-timeout-ms", "1500")
    with Procs(os.path.join(tmp, "logs")) as procs:
        procs.start("inference", argv)
        wait_for(lambda: get_json(f"http://127.0.0.1:{port}/healthz")["svc"], 10,
                 what="inference serving")
        head = (b"POST /openrtb2/bid HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 4000\r\n\r\n")
        with Flood(port) as fl:
            fl.add(60, b"POST /openrtb2/bid HTTP/1.1\r\nHost: x\r\n", b"X")
            fl.add(60, head, b" ")
            fl.add(60, b"", b"\r\n")  # stray line breaks, forever
            worst = max(healthz_ms(port) for _ in range(10))
            check(worst < 2000, f"/healthz took {worst:.0f} ms under the flood")
            wait_for(lambda: fl.open_count() == 0, 8, what="slow sockets closed")
        check(metric(port, "beat_inference_http_evicted_total") > 0)
        healthz_ms(port)


def test_inference_request_clock_starts_at_accept():
    """A client silent for most of the read timeout that then trickles a
    request head (or stray line breaks) a byte at a time gets no fresh read
    timeout from its first byte: a connection's first request is timed from
    accept, so a slot is held at most --read-timeout-ms plus the sweep's
    second, never twice that."""
    tmp = tempfile.mkdtemp(prefix="edges-")
    port, argv = lone_inference("inf-clock", "--read-timeout-ms", "3000")
    with Procs(os.path.join(tmp, "logs")) as procs:
        procs.start("inference", argv)
        wait_for(lambda: get_json(f"http://127.0.0.1:{port}/healthz")["svc"], 10,
                 what="inference serving")
        with Flood(port) as fl:
            fl.add(20, b"", b"P", after=2.4)  # a request head, one byte at a time
            fl.add(20, b"", b"\n", after=2.4)  # stray line breaks, from late on
            wait_for(lambda: fl.open_count() == 0, 12, what="late tricklers closed")
            longest = fl.longest_open_s()
            # from accept: 3 s + up to 1 s of sweep; from the first byte it
            # would be at least 2.4 + 3 s
            check(longest < 5.0, f"a late trickler held its slot {longest:.1f} s")
        check(metric(port, 'beat_inference_http_rejected_total{reason="timeout"}') > 0)
        healthz_ms(port)


def test_inference_out_of_descriptors_pauses_accept():
    """Out of file descriptors, the bid port stops accepting for a moment
    (http_accept_failed, logged rate-limited) instead of failing accept in
    a loop, and listens again by itself once the clients are gone."""
    tmp = tempfile.mkdtemp(prefix="edges-")
    port, argv = lone_inference("inf-fds")
    prlimit = shutil.which("prlimit")
    check(prlimit is not None, "prlimit (util-linux) is needed to lower the descriptor limit")
    argv = [prlimit, "--nofile=64:64", os.path.join(BIN, "beat-inference"), *argv[1:]]
    with Procs(os.path.join(tmp, "logs")) as procs:
        p = procs.start("inference", argv)
        wait_for(lambda: get_json(f"http://127.0.0.1:{port}/healthz")["svc"], 10,
                 what="inference serving")
        socks = []
        try:
            for _ in range(100):  # more than the 64 descriptors; the rest wait in the backlog
                socks.append(socket.create_connection(("127.0.0.1", port), timeout=5))
            wait_for(lambda: any(e.get("ev") == "http_accept_failed" and e.get("err") == -24
                                 for e in p.events()), 10, what="http_accept_failed (EMFILE)")
        finally:
            for s in socks:
                s.close()
        wait_for(lambda: get_json(f"http://127.0.0.1:{port}/healthz")["svc"], 10,
                 what="serving again once the descriptors are free")
        check(p.alive(), "inference survived running out of descriptors")


def bid_ok(port):
    """One bid request on a new connection from 127.0.0.1: True if it bid."""
    try:
        st, _, out = http("POST", f"http://127.0.0.1:{port}/openrtb2/bid",
                          fixture("2.6/simple-banner.json"), {"x-openrtb-version": "2.6"},
                          timeout=3)
    except OSError as e:
        print(f"bid request: {e}")
        return False
    return st == 200 and bool(json.loads(out)["seatbid"])


def test_inference_per_source_cap_and_crlf_drip():
    """The slot-pinning attack: one address opens more sockets than a
    worker has slots and keeps them with a stray line break now and then
    (from accept, or after one request). From 127.0.0.2, 350 sockets against
    --max-conns 300 and --max-conns-per-source 100: the sockets past 100
    are closed at accept, the dripping ones by their deadline (read timeout
    from accept; idle timeout from their one request, the breaks buying
    nothing), and a client on 127.0.0.1 gets bids all along. An exempt
    network (--exempt-networks) and a configured exchange's network are not
    held to the cap."""
    tmp = tempfile.mkdtemp(prefix="edges-cap-")
    sup_port, port, bidlog = free_ports(3)
    with Procs(os.path.join(tmp, "logs")) as procs:
        start_sup_ipc(procs, tmp, sup_port)
        procs.start("inference", inference_argv(
            tmp, port, bidlog, "inf-cap", None, "--max-conns", "300",
            "--max-conns-per-source", "100", "--exempt-networks", "127.0.0.4/32",
            "--read-timeout-ms", "2000", "--idle-timeout-ms", "2000"))
        sup = f"http://127.0.0.1:{sup_port}"
        load_formats(sup, port)
        xs = {"v": 1, "exchanges": [{"id": "ex3", "networks": ["127.0.0.3/32"], "qps": 1000}]}
        st, _, b = http("PUT", sup + "/v1/exchanges", json.dumps(xs).encode(),
                        {"Content-Type": "application/json"})
        check(st == 200, f"PUT exchanges -> {st} {b!r}")
        wait_for(lambda: get_json(f"http://127.0.0.1:{port}/healthz")["exchanges"] == 1, 10,
                 what="the exchange set at inference")
        wait_for(lambda: bid_ok(port), 10, what="a first bid")
        with Flood(port, every=0.5, src="127.0.0.2", keep_200=True) as fl:
            one = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
            fl.add(50, b"", b"\r\n")  # silent, then a break every 0.5 s
            fl.add(50, one, b"\r\n")  # one request, then the same
            held = list(fl.socks)  # within the cap
            fl.add(125, b"", b"\r\n")
            fl.add(125, one, b"\r\n")
            bids = 0
            while fl.open_count():
                check(bid_ok(port), "a bid request from 127.0.0.1 got no bid under the flood")
                bids += 1
                time.sleep(0.2)  # an exchange's pace, within the campaigns' budget lease
                check(fl.longest_open_s() < 8, "dripping sockets still open after 8 s")
            # 350 from one address, more than the slots: the 250 past the cap
            # closed at accept, at once
            check(metric(port, 'beat_inference_http_refused_total{reason="per_source"}') == 250,
                  "per-source refusals")
            check(fl.closed_within(1.0) == 250, f"{fl.closed_within(1.0)} closed at once")
            # the 100 within it by their deadline: 2 s from accept or from their
            # request, + up to 1 s of sweep; the breaks bought nothing
            for name, grp in (("silent", held[:50]), ("served", held[50:])):
                longest = fl.longest_open_s(grp)
                check(1.5 < longest < 4.5, f"a {name} dripping socket held its slot {longest:.1f} s")
        check(bids > 5, f"only {bids} bids during the flood")
        check(metric(port, 'beat_inference_http_refused_total{reason="max_conns"}') == 0)
        # an exempt address (the flag's, an exchange's) may hold more than the cap
        socks = [socket.create_connection(("127.0.0.1", port), timeout=5,
                                          source_address=(src, 0))
                 for src in ("127.0.0.3", "127.0.0.4") for _ in range(120)]
        try:
            for s in socks:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            for s in socks:
                r = s.recv(4096)
                check(r.startswith(b"HTTP/1.1 200 "), f"exempt socket {s.getsockname()} not served: {r[:80]!r}")
        finally:
            for s in socks:
                s.close()
        check(metric(port, 'beat_inference_http_refused_total{reason="per_source"}') == 250)
        check(metric(port, "beat_inference_http_evicted_total") == 0)
        check(bid_ok(port), "bidding after the flood")
