"""Helpers for integration tests: free ports, real processes with logs,
polling with deadlines (never bare sleeps), HTTP on loopback, cleanup by PID.
Standard library only."""
import json, os, signal, socket, struct, subprocess, time, urllib.request, urllib.error, zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BUILD", "build")
BIN = os.path.join(ROOT, BUILD, "bin")
FIXTURES = os.path.join(ROOT, "tests", "fixtures")


def pack_checkpoint(header, weights, private=b""):
    """A checkpoint following common/beat_ckpt.h byte for byte: magic,
    format 1, the JSON header, the weights as little-endian float32 (floats,
    or their bytes ready-made), the private section, CRC-32."""
    hdr = json.dumps(header).encode()
    if not isinstance(weights, (bytes, bytearray)):
        weights = struct.pack(f"<{len(weights)}f", *weights)
    b = b"BEATCKPT" + struct.pack("<II", 1, len(hdr)) + hdr
    b += struct.pack("<Q", len(weights) // 4) + weights
    b += struct.pack("<Q", len(private)) + private
    return b + struct.pack("<I", zlib.crc32(b) & 0xffffffff)


def free_port():
    """A TCP port that was free a moment ago (bind to 0, read, release)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket(); s.bind(("127.0.0.1", 0))
        socks.append(s); ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


class Proc:
    """A real process with stderr/stdout captured to a log file."""

    def __init__(self, name, argv, env=None, logdir="/tmp", cwd=None):
        self.name = name
        self.log_path = os.path.join(logdir, f"{name}.log")
        # Development mode unless the caller says otherwise: a daemon
        # started on its own refuses the public dev notice secret and an
        # empty admin token without it (docs/deploy.md "Secrets and --dev").
        # Engine (beatctl) runs use real random secrets instead.
        e = dict(os.environ)
        e.setdefault("BEAT_DEV", "1")
        e.update(env or {})
        self.log = open(self.log_path, "ab")
        if not argv[0].startswith("/"):
            argv = [os.path.join(BIN, argv[0])] + list(argv[1:])
        self.p = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                  env=e, cwd=cwd or ROOT, start_new_session=True)
        self.pid = self.p.pid

    def alive(self):
        return self.p.poll() is None

    def signal(self, sig):
        if self.alive():
            os.kill(self.pid, sig)

    def stop(self, timeout=10):
        """SIGTERM, wait, SIGKILL if needed. Returns the exit code."""
        if self.alive():
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
        self.log.close()
        return self.p.returncode

    def kill(self):
        if self.alive():
            self.p.kill()
            self.p.wait(5)

    def logs(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def events(self):
        """Parsed JSON log lines (non-JSON lines skipped)."""
        out = []
        for line in self.logs().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out


class Procs:
    """Context manager that stops every process it started, even on failure."""

    def __init__(self, logdir):
        self.logdir = logdir
        os.makedirs(logdir, exist_ok=True)
        self.procs = []

    def start(self, name, argv, env=None):
        p = Proc(name, argv, env, self.logdir)
        self.procs.append(p)
        return p

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for p in reversed(self.procs):
            try:
                p.stop(5)
            except Exception:
                pass


def wait_for(pred, timeout=10.0, interval=0.05, what="condition"):
    """Polls pred() until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        try:
            v = pred()
            if v:
                return v
        except Exception as e:  # noqa: BLE001 - retried until deadline
            last_exc = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}"
                         + (f" (last error: {last_exc})" if last_exc else ""))


def pid_gone(pid):
    """No process pid any more (signal 0 refused)."""
    try:
        os.kill(pid, 0)
        return False
    except OSError:
        return True


def http(method, url, body=None, headers=None, timeout=5.0):
    """Returns (status, headers dict, body bytes); never raises on HTTP codes."""
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


def http_noredirect(url, timeout=5.0):
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def get_json(url, timeout=5.0):
    st, _, b = http("GET", url, timeout=timeout)
    if st != 200:
        raise AssertionError(f"GET {url} -> {st}: {b[:200]!r}")
    return json.loads(b)


def healthz(port):
    return get_json(f"http://127.0.0.1:{port}/healthz", timeout=2.0)


def metric(port, name):
    """Value of one sample from /metrics (exact name incl. labels), or None."""
    st, _, b = http("GET", f"http://127.0.0.1:{port}/metrics", timeout=2.0)
    if st != 200:
        return None
    for line in b.decode().splitlines():
        if line.startswith("#"):
            continue
        parts = line.rsplit(" ", 1)
        if len(parts) == 2 and parts[0] == name:
            return float(parts[1])
    return None


def metric_sum(port, base, **labels):
    """Sum of every sample of metric base whose labels include labels (e.g.
    bids over all exchanges, or exchange="exsim" only); None if unreachable."""
    st, _, b = http("GET", f"http://127.0.0.1:{port}/metrics", timeout=2.0)
    if st != 200:
        return None
    want = [f'{k}="{v}"' for k, v in labels.items()]
    total = 0.0
    for line in b.decode().splitlines():
        if line.startswith("#"):
            continue
        parts = line.rsplit(" ", 1)
        if len(parts) != 2:
            continue
        name = parts[0]
        if name != base and not name.startswith(base + "{"):
            continue
        if all(w in name for w in want):
            total += float(parts[1])
    return total


def check(cond, msg="check failed"):
    if not cond:
        raise AssertionError(msg)


# ---- a whole engine under beatctl -------------------------------------------------

def port_plan(base, n_inference=1, n_datastream=1, n_receiver=2):
    """The ports beatctl derives from a base (tools/beatctl/layout.c). Every
    receiver shares the notice port ("notices"); "receiver-i" is its own
    admin port (/healthz, /metrics), "bidlog-i" its nng bid-log port."""
    ports = {"inference-1": base, "notices": base + 1, "datastream-1": base + 2,
             "supervisor": base + 3, "actuator": base + 4, "lighttrainer": base + 5,
             "kafka-dev": base + 6, "kafka": base + 1012,
             "pub": base - 977, "rep": base - 976}
    for i in range(2, n_inference + 1):
        ports[f"inference-{i}"] = base + 10 + i
    for i in range(2, n_datastream + 1):
        ports[f"datastream-{i}"] = base + 20 + i
    for i in range(1, n_receiver + 1):
        ports[f"receiver-{i}"] = base + 30 + i
        ports[f"bidlog-{i}"] = base - 979 if i == 1 else base - 990 + i
    return ports


def _port_free(p):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", p))
            return True
        except OSError:
            return False


def free_port_base(n_inference=1, n_datastream=1, n_receiver=2):
    import random
    for _ in range(200):
        base = random.randrange(12000, 40000, 50)
        if all(_port_free(p) for p in
               port_plan(base, n_inference, n_datastream, n_receiver).values()):
            return base
    raise AssertionError("no free port base")


class Engine:
    """beatctl up/down around a test, in its own run dir and port range."""

    def __init__(self, run_dir, campaigns=None, n_inference=1, n_datastream=1, n_receiver=2,
                 env=None, exchanges=None):
        self.run_dir = run_dir
        self.exchanges = exchanges  # None: beatctl's default (docs/examples/exchanges.json)
        self.base = free_port_base(n_inference, n_datastream, n_receiver)
        self.ports = port_plan(self.base, n_inference, n_datastream, n_receiver)
        self.campaigns = campaigns
        self.n_inference, self.n_datastream = n_inference, n_datastream
        self.n_receiver = n_receiver
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.env["BEAT_RUN_DIR"] = run_dir
        self.env["BEAT_PORT_BASE"] = str(self.base)

    def ctl(self, *args, check=True, timeout=90):
        argv = [os.path.join(BIN, "beatctl"), *args]
        r = subprocess.run(argv, env=self.env, capture_output=True, text=True,
                           timeout=timeout, cwd=ROOT)
        if check and r.returncode != 0:
            raise AssertionError(f"beatctl {' '.join(args)} -> {r.returncode}\n"
                                 f"{r.stdout}\n{r.stderr}")
        return r

    def up(self):
        args = ["up", f"--inference={self.n_inference}", f"--datastream={self.n_datastream}",
                f"--receivers={self.n_receiver}"]
        if self.campaigns:
            args.append(f"--campaigns={self.campaigns}")
        if self.exchanges:
            args.append(f"--exchanges={self.exchanges}")
        return self.ctl(*args)

    def exchange_headers(self, exchange="exsim"):
        """Headers that authenticate a bid request as exchange (its key from
        run/exchange-keys)."""
        return {"X-Beat-Exchange": exchange, "X-Beat-Key": self.exchange_keys()[exchange]}

    def down(self):
        return self.ctl("down", check=False)

    def __enter__(self):
        os.makedirs(self.run_dir, exist_ok=True)
        try:
            self.up()
        except Exception:
            self.down()
            raise
        return self

    def __exit__(self, *exc):
        self.down()

    def shared_env(self):
        """Variables from run/env (addresses, secrets)."""
        out = {}
        with open(os.path.join(self.run_dir, "env")) as f:
            for line in f:
                if line.startswith("export "):
                    k, v = line[7:].rstrip("\n").split("=", 1)
                    out[k] = v.strip("'")
        return out

    def exsim_env(self):
        """The environment beat-exsim needs to send as the engine's exchange
        (BEAT_EXSIM_EXCHANGE and its generated key, from run/env)."""
        env = dict(os.environ)
        env.update({k: v for k, v in self.shared_env().items() if k.startswith("BEAT_EXSIM_")})
        return env

    def exchange_keys(self):
        """{exchange id: generated key} from run/exchange-keys."""
        with open(os.path.join(self.run_dir, "exchange-keys")) as f:
            return dict(line.split() for line in f if line.strip())

    def pid(self, name):
        try:
            with open(os.path.join(self.run_dir, "pids", name)) as f:
                pid = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return 0
        try:
            os.kill(pid, 0)
            return pid
        except OSError:
            return 0

    def names(self):
        with open(os.path.join(self.run_dir, "layout")) as f:
            return [line.split()[0] for line in f if line.strip()]

    def url(self, name, path=""):
        return f"http://127.0.0.1:{self.ports[name]}{path}"

    def health(self, name):
        return get_json(self.url(name, "/healthz"), timeout=2.0)

    def log(self, name):
        with open(os.path.join(self.run_dir, "logs", f"{name}.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def fatal_events(self):
        """(name, line) for every fatal-level log line of any daemon."""
        out = []
        for n in self.names():
            try:
                text = self.log(n)
            except OSError:
                continue
            for line in text.splitlines():
                if '"lvl":"fatal"' in line:
                    out.append((n, line))
        return out


class SimClock:
    """A simulated engine clock (common/beat_clock.h) shared by every process
    of a test: at wall time origin_ms the engine shows start_ms, and it runs
    rate times faster. spec is the --sim-clock / BEAT_SIM_CLOCK value;
    engine_ms() is what the daemons read at a wall time (now by default)."""

    def __init__(self, start_ms, rate, origin_ms=None):
        self.origin_ms = int(time.time() * 1000) if origin_ms is None else int(origin_ms)
        self.start_ms, self.rate = int(start_ms), rate
        self.spec = f"{self.origin_ms}:{self.start_ms}:{rate:g}"

    def engine_ms(self, wall_ms=None):
        w = time.time() * 1000 if wall_ms is None else wall_ms
        return self.start_ms + int((w - self.origin_ms) * self.rate)

    def wall_s_until(self, engine_ms):
        """Wall seconds from now until the engine clock shows engine_ms."""
        return (engine_ms - self.engine_ms()) / self.rate / 1000.0

    def argv(self):
        return ["--sim-clock", self.spec]
