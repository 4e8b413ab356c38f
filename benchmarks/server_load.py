#!/usr/bin/env python3
"""Load figures for a running `bonsai serve`: submissions per second, GET /v1/jobs/{id} latency
(p50/p99) and SSE delivery delay (event time to receipt, p50/p99) while a job trains, plus the
server's resident memory when its pid is given. Standard library only.

    python3 benchmarks/server_load.py --url http://127.0.0.1:8080 --token $BONSAI_TOKEN --spec spec.json
"""
import argparse, http.client, json, statistics, threading, time, urllib.parse


def conn(url):
    u = urllib.parse.urlparse(url)
    return http.client.HTTPConnection(u.hostname, u.port or 80, timeout=30)


def request(c, method, path, token, body=None, headers=None):
    h = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    h.update(headers or {})
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    return r.status, r.read()


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--token", required=True)
    ap.add_argument("--spec", required=True, help="spec of the job that trains during the GET measurement")
    ap.add_argument("--submissions", type=int, default=200)
    ap.add_argument("--gets", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--sse", type=int, default=4, help="SSE subscribers to the training job")
    ap.add_argument("--pid", type=int, help="server pid, to report its resident memory (VmHWM, VmRSS)")
    args = ap.parse_args()
    spec = open(args.spec).read()

    # 1. Training job first, so the GETs run while it trains.
    c = conn(args.url)
    status, body = request(c, "POST", "/v1/jobs", args.token, spec)
    assert status == 202, (status, body)
    job = json.loads(body)["id"]
    while json.loads(request(c, "GET", f"/v1/jobs/{job}", args.token)[1])["status"] != "running":
        time.sleep(0.05)

    # 2. GET latency while the job trains, with SSE subscribers measuring delivery delay.
    latencies = []
    lock = threading.Lock()
    delays = []
    stop = threading.Event()
    def subscriber():
        cc = conn(args.url)
        cc.request("GET", f"/v1/jobs/{job}/events", headers={"Authorization": f"Bearer {args.token}"})
        r = cc.getresponse()
        while not stop.is_set():
            line = r.fp.readline()
            if not line:
                break
            if line.startswith(b"data: "):
                try:
                    t = json.loads(line[6:]).get("time")
                except ValueError:
                    continue
                if isinstance(t, (int, float)):
                    with lock:
                        delays.append(time.time() - t)
    subscribers = [threading.Thread(target=subscriber, daemon=True) for _ in range(args.sse)]
    for t in subscribers: t.start()
    def getter(n):
        cc = conn(args.url)
        mine = []
        for _ in range(n):
            t = time.perf_counter()
            s, _ = request(cc, "GET", f"/v1/jobs/{job}", args.token)
            mine.append(time.perf_counter() - t)
            assert s == 200, s
        with lock:
            latencies.extend(mine)
    threads = [threading.Thread(target=getter, args=(args.gets // args.threads,)) for _ in range(args.threads)]
    t0 = time.perf_counter()
    for t in threads: t.start()
    for t in threads: t.join()
    get_elapsed = time.perf_counter() - t0
    stop.set()
    still_running = json.loads(request(c, "GET", f"/v1/jobs/{job}", args.token)[1])["status"]

    # 3. Submission throughput (each a committed job). Small queue priority -100 so they don't matter.
    low = json.loads(spec); low["priority"] = -100
    low = json.dumps(low)
    statuses = []
    def submitter(n):
        cc = conn(args.url)
        for _ in range(n):
            s, _ = request(cc, "POST", "/v1/jobs", args.token, low)
            with lock:
                statuses.append(s)
    threads = [threading.Thread(target=submitter, args=(args.submissions // args.threads,)) for _ in range(args.threads)]
    t0 = time.perf_counter()
    for t in threads: t.start()
    for t in threads: t.join()
    sub_elapsed = time.perf_counter() - t0

    memory = {}
    if args.pid:
        for line in open(f"/proc/{args.pid}/status"):
            if line.startswith(("VmHWM", "VmRSS")):
                memory[line.split(":")[0]] = line.split(":")[1].strip()
    print(json.dumps({
        "get_requests": len(latencies), "get_p50_ms": round(1000 * statistics.median(latencies), 2),
        "get_p99_ms": round(1000 * percentile(latencies, 99), 2), "get_per_second": round(len(latencies) / get_elapsed, 1),
        "job_status_after_gets": still_running,
        "submissions": len(statuses), "accepted": statuses.count(202), "rejected_429": statuses.count(429),
        "submissions_per_second": round(len(statuses) / sub_elapsed, 1),
        "sse_events": len(delays),
        "sse_delay_p50_ms": round(1000 * statistics.median(delays), 2) if delays else None,
        "sse_delay_p99_ms": round(1000 * percentile(delays, 99), 2) if delays else None,
        "server_memory": memory,
    }, indent=2))


if __name__ == "__main__":
    main()
