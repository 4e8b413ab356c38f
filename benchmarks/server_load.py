#!/usr/bin/env python3
"""Load figures for a running `bonsai serve`: submissions per second and GET /v1/jobs/{id} latency
(p50/p99) while a job trains. Standard library only.

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
    args = ap.parse_args()
    spec = open(args.spec).read()

    # 1. Training job first, so the GETs run while it trains.
    c = conn(args.url)
    status, body = request(c, "POST", "/v1/jobs", args.token, spec)
    assert status == 202, (status, body)
    job = json.loads(body)["id"]
    while json.loads(request(c, "GET", f"/v1/jobs/{job}", args.token)[1])["status"] != "running":
        time.sleep(0.05)

    # 2. GET latency while the job trains.
    latencies = []
    lock = threading.Lock()
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

    print(json.dumps({
        "get_requests": len(latencies), "get_p50_ms": round(1000 * statistics.median(latencies), 2),
        "get_p99_ms": round(1000 * percentile(latencies, 99), 2), "get_per_second": round(len(latencies) / get_elapsed, 1),
        "job_status_after_gets": still_running,
        "submissions": len(statuses), "accepted": statuses.count(202), "rejected_429": statuses.count(429),
        "submissions_per_second": round(len(statuses) / sub_elapsed, 1),
    }, indent=2))


if __name__ == "__main__":
    main()
