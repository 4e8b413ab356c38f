-- wrk script: POST the job spec named by $BONSAI_SPEC to the URL given to wrk (…/v1/jobs), to load
-- the server with submissions while another wrk measures polls:
--   BONSAI_SPEC=spec.json wrk -t1 -c2 -d15s -s benchmarks/wrk-post-job.lua -H "Authorization: Bearer $T" $URL/v1/jobs
local path = os.getenv("BONSAI_SPEC") or error("set BONSAI_SPEC to a job spec file")
wrk.method = "POST"
wrk.body = io.open(path):read("a")
wrk.headers["Content-Type"] = "application/json"
