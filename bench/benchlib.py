"""Shared bits of the benchmarks (bench*.py): the Makefile-built C probes,
wrk runs and an nginx fixed-reply baseline on a free port. Standard library
only; imports tests/beatlib.py for ports and polling."""
import json, os, re, subprocess, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from beatlib import BUILD, ROOT, free_port, http, wait_for  # noqa: E402

DUR = os.environ.get("BEAT_BENCH_SECONDS", "8")
CONNS = os.environ.get("BEAT_BENCH_CONNECTIONS", "32")


def probe_path(name):
    """Path of the bench probe bench/<name>.c as `make bench-probes` builds
    it ($BUILD/bench/<name>; the scripts never compile it themselves, so
    its flags and sources are the Makefile's). Missing: says what to run
    and exits non-zero, before the caller starts any process."""
    exe = os.path.join(ROOT, BUILD, "bench", name)
    if not os.access(exe, os.X_OK):
        make = "make" if BUILD == "build" else f"make BUILD={BUILD}"
        sys.exit(f"bench: {exe} is missing; run `{make} bench-probes` first "
                 f"(`make bench` does)")
    return exe


# Server and load generator on separate cores (BEAT_BENCH_PIN=0: no
# pinning): the server's process on SERVER_CPU, wrk / loadgen / sinks on
# CLIENT_CPU, so neither steals the other's core and figures are steadier.
PIN = os.environ.get("BEAT_BENCH_PIN", "1") != "0" and (os.cpu_count() or 1) >= 2
SERVER_CPU, CLIENT_CPU = 0, 1


def client_argv(argv):
    """argv run on the client core (taskset) when pinning."""
    return (["taskset", "-c", str(CLIENT_CPU)] + argv) if PIN else argv


def family(pid):
    """pid and its children (nginx's worker is the master's child)."""
    pids = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            pids += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return pids


def pin(pid, cpu=SERVER_CPU):
    """Moves every thread of pid and of its children (nginx's worker) to
    cpu; threads started later inherit it. No-op without pinning."""
    if not PIN:
        return
    for p in family(pid):
        for tid in os.listdir(f"/proc/{p}/task"):
            try:
                os.sched_setaffinity(int(tid), {cpu})
            except OSError:
                pass


def thread_cpu(pid):
    """{thread name: [user s, system s]} over every thread of pid and its
    children (names from /proc/<tid>/comm; same-named threads summed)."""
    tck = os.sysconf("SC_CLK_TCK")
    out = {}
    for p in family(pid):
        try:
            tids = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{p}/task/{tid}/stat") as f:
                    st = f.read()
            except OSError:
                continue
            name = st[st.index("(") + 1:st.rindex(")")]
            fields = st.rsplit(")", 1)[1].split()
            e = out.setdefault(name, [0.0, 0.0])
            e[0] += int(fields[11]) / tck
            e[1] += int(fields[12]) / tck
    return out


def cpu_delta(before, after):
    """{name: [user s, system s]} spent between two thread_cpu snapshots
    (threads that ended in between are lost; bench threads live on)."""
    return {k: [v[0] - before.get(k, [0, 0])[0], v[1] - before.get(k, [0, 0])[1]]
            for k, v in after.items()}


def proc_stat():
    """{cpuN: (busy jiffies, steal jiffies, total jiffies)} from /proc/stat."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            if not line.startswith("cpu") or line.startswith("cpu "):
                continue
            name, *v = line.split()
            v = [int(x) for x in v[:8]] + [0] * max(0, 8 - len(v))
            idle = v[3] + v[4]
            out[name] = (sum(v) - idle - v[7], v[7], sum(v))
    return out


def stat_share(before, after, cpu):
    """(busy %, steal %) of core cpu between two proc_stat snapshots."""
    b, a = before.get(f"cpu{cpu}"), after.get(f"cpu{cpu}")
    if not b or not a or a[2] == b[2]:
        return 0.0, 0.0
    tot = a[2] - b[2]
    return 100.0 * (a[0] - b[0]) / tot, 100.0 * (a[1] - b[1]) / tot


def wrk(url, script=None, seconds=None, conns=None):
    """(requests/s, {"50": p50, "99": p99}, non-2xx/3xx count), on the
    client core. To pace the load, give the script a delay() function."""
    exe = "wrk"
    secs = seconds or DUR
    argv = client_argv([exe, "-t1", f"-c{conns or CONNS}", f"-d{secs}s", "--latency"])
    if script:
        argv += ["-s", script]
    r = subprocess.run(argv + [url], capture_output=True, text=True, timeout=int(secs) + 30)
    m = re.search(r"Requests/sec:\s+([\d.]+)", r.stdout)
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", r.stdout, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", r.stdout)
    return float(m.group(1)) if m else 0.0, lat, int(non2xx.group(1)) if non2xx else 0


def bid_request_file(tmp, auction):
    """Writes the benches' one bid request (a 300x250 banner a US news site
    offers, which every example campaign can answer) to tmp; returns its
    path and the request."""
    req = {"id": auction, "at": 2, "tmax": 200, "cur": ["USD"],
           "imp": [{"id": "1", "banner": {"w": 300, "h": 250}, "bidfloor": 0.05}],
           "site": {"id": "s1", "domain": "news.example", "cat": ["IAB12"],
                    "publisher": {"id": "p1"}},
           "device": {"devicetype": 2, "os": "ios", "geo": {"country": "USA"}},
           "user": {"id": "u1"}}
    path = os.path.join(tmp, "req.json")
    with open(path, "w") as f:
        json.dump(req, f)
    return path, req


def post_script(tmp, body_path, headers=None):
    """wrk Lua script POSTing the file at body_path as JSON, with extra
    headers (e.g. an exchange's X-Beat-Exchange / X-Beat-Key)."""
    s = os.path.join(tmp, "post.lua")
    extra = "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in (headers or {}).items())
    open(s, "w").write(f"""wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
{extra}local f = io.open("{body_path}", "rb"); wrk.body = f:read("*a"); f:close()
""")
    return s


def post_many_script(tmp, bodies_path, name="post-many.lua"):
    """wrk Lua script POSTing the JSON bodies of bodies_path (one per line)
    in turn. The requests are formatted once at start-up, so the client's
    cost per request is what it is for a single body."""
    s = os.path.join(tmp, name)
    open(s, "w").write(f"""local reqs, i = {{}}, 0
function init(args)
  for line in io.lines("{bodies_path}") do
    reqs[#reqs + 1] = wrk.format("POST", nil, {{["Content-Type"] = "application/json"}}, line)
  end
end
function request()
  i = i % #reqs + 1
  return reqs[i]
end
""")
    return s


def nginx(tmp):
    """Starts nginx (1 worker) answering a fixed 300-byte 200 to anything.
    Returns (Popen, url); the caller terminates it."""
    port = free_port()
    body = "x" * 300
    conf = os.path.join(tmp, "nginx.conf")
    open(conf, "w").write(f"""worker_processes 1; daemon off; pid {tmp}/nginx.pid;
error_log {tmp}/nginx.err; events {{ worker_connections 1024; }}
http {{ access_log off; server {{ listen 127.0.0.1:{port};
  location / {{ default_type application/json; return 200 '{body}'; }} }} }}""")
    p = subprocess.Popen(["nginx", "-c", conf, "-p", tmp], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    wait_for(lambda: http("POST", f"http://127.0.0.1:{port}/", "{}")[0] == 200, 10,
             what="nginx")
    return p, f"http://127.0.0.1:{port}/"
