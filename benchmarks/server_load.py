#!/usr/bin/env python3
"""Load figures for `bonsai serve`, all measured at the same time while workers train:

- submissions: thousands of POST /v1/jobs from several threads (submissions/s, statuses);
- polls: GET /v1/jobs/{id} of random submitted jobs and GET /v1/jobs pages (p50/p99 latency);
- SSE: subscribers to a training job's /events (delivery delay = receipt time - event time, p50/p99);
- memory: the server's resident set sampled every 0.2 s (peak and last), when its pid is known;
- request errors: exceptions and unexpected statuses per kind (anything but 2xx, and 429 where the
  queue limit explains it);
- back-pressure: a second tenant with a small queue limit gets exactly that many 202s, then 429s.

Either against a running server (--url/--token/--small-token, the small tenant made with
`bonsai token create --tenant small --max-queued 20`) or, with --serve BINARY, against a server
the script starts on a temporary data directory and stops at the end. Exit status 1 when a request
failed unexpectedly or back-pressure did not hold. Standard library only.

    python3 benchmarks/server_load.py --serve .build/debug/bonsai --submissions 2000 --seconds 20
"""
import argparse, http.client, json, os, random, re, shutil, signal, statistics, subprocess, tempfile, threading, time, urllib.parse

TINY = {"model": {"architecture": "lenet300", "options": {"hidden": [16]}}, "dataset": {"name": "digits"},
        "method": {"name": "magnitude", "sparsity": 0.8},
        "train": {"steps": 400, "batch_size": 16, "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9}, "checkpoint_every": 50}, "finetune": {"steps": 100}, "seed": 1}


def conn(url):
    u = urllib.parse.urlparse(url)
    return http.client.HTTPConnection(u.hostname, u.port or 80, timeout=30)


def request(c, method, path, token, body=None):
    c.request(method, path, body=body, headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    r = c.getresponse()
    return r.status, r.read()


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else None


def ms(x):
    return None if x is None else round(1000 * x, 2)


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.polls, self.delays, self.submit_statuses, self.ids = [], [], [], []
        self.errors = {}
        self.failed = True

    def error(self, kind, what):
        with self.lock:
            self.errors.setdefault(kind, {}).setdefault(what, 0)
            self.errors[kind][what] += 1


def start_server(binary, submissions, small_limit, workers):
    root = tempfile.mkdtemp(prefix="bonsai-load-")
    token = "bns_load_admin_" + os.urandom(8).hex()
    config = os.path.join(root, "config.json")
    with open(config, "w") as f:
        json.dump({"admin_token": token, "tenant_max_queued": submissions + 100, "tenant_max_running": workers,
                   "workers": {"workers": workers}}, f)
    data = os.path.join(root, "data")
    small = subprocess.run([binary, "token", "create", "--tenant", "small", "--data-dir", data, "--max-queued", str(small_limit)],
                           check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    log = open(os.path.join(root, "server.log"), "w+")
    proc = subprocess.Popen([binary, "serve", "--port", "0", "--data-dir", data, "--config", config], stdout=log, stderr=log)
    deadline = time.time() + 60
    while time.time() < deadline:
        log.seek(0)
        m = re.search(r"http://[0-9.]+:[0-9]+", log.read())
        if m:
            return proc, m.group(0), token, small, root
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start: see " + log.name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--token", help="token of a tenant whose queue limit exceeds --submissions")
    ap.add_argument("--small-token", help="token of a tenant with queue limit --small-limit (for the 429 check)")
    ap.add_argument("--small-limit", type=int, default=20)
    ap.add_argument("--serve", metavar="BINARY", help="start `BINARY serve` on a temporary data dir (and stop it at the end)")
    ap.add_argument("--workers", type=int, default=2, help="workers of the server started with --serve")
    ap.add_argument("--spec", help="JSON spec of the jobs (default: a tiny lenet300/digits job)")
    ap.add_argument("--submissions", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=20, help="how long the polls run")
    ap.add_argument("--threads", type=int, default=4, help="submitting threads, and as many polling threads")
    ap.add_argument("--sse", type=int, default=4, help="SSE subscribers to the training job")
    ap.add_argument("--pid", type=int, help="server pid, to sample its resident memory")
    args = ap.parse_args()
    spec = json.load(open(args.spec)) if args.spec else TINY
    proc = root = None
    if args.serve:
        proc, args.url, args.token, args.small_token, root = start_server(args.serve, args.submissions, args.small_limit, args.workers)
        args.pid = proc.pid
    if not args.token:
        raise SystemExit("--token (or --serve) is required")
    stats = Stats()
    try:
        run(args, spec, stats)
    finally:
        if proc:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=40)
            shutil.rmtree(root, ignore_errors=True)
    raise SystemExit(1 if stats.failed else 0)


def run(args, spec, stats):
    c = conn(args.url)
    status, body = request(c, "POST", "/v1/jobs", args.token, json.dumps(spec))
    assert status == 202, (status, body)
    job = json.loads(body)["id"]
    stats.ids.append(job)
    while json.loads(request(c, "GET", f"/v1/jobs/{job}", args.token)[1])["status"] not in ("running", "succeeded"):
        time.sleep(0.05)
    stop = threading.Event()
    memory = {"peak_kb": 0, "last_kb": 0}

    def sampler():
        while not stop.is_set() and args.pid:
            try:
                for line in open(f"/proc/{args.pid}/status"):
                    if line.startswith("VmRSS"):
                        kb = int(line.split()[1])
                        memory["last_kb"], memory["peak_kb"] = kb, max(memory["peak_kb"], kb)
            except OSError:
                return
            time.sleep(0.2)

    def subscriber():
        try:
            cc = conn(args.url)
            cc.request("GET", f"/v1/jobs/{job}/events", headers={"Authorization": f"Bearer {args.token}"})
            r = cc.getresponse()
            if r.status != 200:
                stats.error("sse", r.status)
                return
            cc.sock.settimeout(2)
            while not stop.is_set():
                try:
                    line = r.fp.readline()
                except OSError:
                    continue
                if not line:
                    break
                if line.startswith(b"data: "):
                    try:
                        t = json.loads(line[6:]).get("time")
                    except ValueError:
                        continue
                    if isinstance(t, (int, float)):
                        with stats.lock:
                            stats.delays.append(time.time() - t)
        except Exception as e:  # noqa: BLE001 - every failure is a counted request error
            stats.error("sse", type(e).__name__)

    def submitter(n):
        cc = conn(args.url)
        low = dict(spec, priority=-100)
        for i in range(n):
            low["seed"] = random.randrange(1 << 30)
            try:
                s, b = request(cc, "POST", "/v1/jobs", args.token, json.dumps(low))
            except Exception as e:  # noqa: BLE001
                stats.error("submit", type(e).__name__)
                cc = conn(args.url)
                continue
            with stats.lock:
                stats.submit_statuses.append(s)
                if s == 202:
                    stats.ids.append(json.loads(b)["id"])
            if s != 202:
                stats.error("submit", s)

    def poller():
        cc = conn(args.url)
        while not stop.is_set():
            with stats.lock:
                target = random.choice(stats.ids)
            path = "/v1/jobs?limit=50" if random.random() < 0.1 else f"/v1/jobs/{target}"
            t = time.perf_counter()
            try:
                s, _ = request(cc, "GET", path, args.token)
            except Exception as e:  # noqa: BLE001
                stats.error("poll", type(e).__name__)
                cc = conn(args.url)
                continue
            elapsed = time.perf_counter() - t
            with stats.lock:
                stats.polls.append(elapsed)
            if s != 200:
                stats.error("poll", s)

    background = [threading.Thread(target=sampler, daemon=True)] + [threading.Thread(target=subscriber, daemon=True) for _ in range(args.sse)]
    pollers = [threading.Thread(target=poller) for _ in range(args.threads)]
    submitters = [threading.Thread(target=submitter, args=(args.submissions // args.threads,)) for _ in range(args.threads)]
    for t in background + pollers:
        t.start()
    t0 = time.perf_counter()
    for t in submitters:
        t.start()
    for t in submitters:
        t.join()
    submit_seconds = time.perf_counter() - t0
    time.sleep(max(0, args.seconds - submit_seconds))
    stop.set()
    for t in pollers:
        t.join()
    poll_seconds = time.perf_counter() - t0

    # Back-pressure: the small tenant gets its limit of 202s, then 429 with a problem body.
    small = []
    if args.small_token:
        cc = conn(args.url)
        for _ in range(args.small_limit + 5):
            s, b = request(cc, "POST", "/v1/jobs", args.small_token, json.dumps(dict(spec, priority=-100)))
            small.append(s)
    backpressure_ok = (small == [202] * args.small_limit + [429] * 5) if args.small_token else None
    stats.failed = bool(stats.errors) or backpressure_ok is False
    final = json.loads(request(c, "GET", f"/v1/jobs/{job}", args.token)[1])
    print(json.dumps({
        "submissions": len(stats.submit_statuses), "accepted": stats.submit_statuses.count(202),
        "submissions_per_second": round(len(stats.submit_statuses) / submit_seconds, 1),
        "polls": len(stats.polls), "polls_per_second": round(len(stats.polls) / poll_seconds, 1),
        "poll_p50_ms": ms(statistics.median(stats.polls)) if stats.polls else None, "poll_p99_ms": ms(percentile(stats.polls, 99)),
        "sse_events": len(stats.delays), "sse_delay_p50_ms": ms(statistics.median(stats.delays)) if stats.delays else None,
        "sse_delay_p99_ms": ms(percentile(stats.delays, 99)),
        "server_rss_peak_mb": round(memory["peak_kb"] / 1024, 1), "server_rss_last_mb": round(memory["last_kb"] / 1024, 1),
        "request_errors": stats.errors, "training_job_status": final["status"],
        "training_job_steps": final["progress"]["completed_steps"],
        "small_tenant_statuses": {str(s): small.count(s) for s in sorted(set(small))}, "backpressure_ok": backpressure_ok,
    }, indent=2))


if __name__ == "__main__":
    main()
