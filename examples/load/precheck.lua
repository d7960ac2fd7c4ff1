-- wrk script: a Subscriptions/Create pre-check as the platform sends it.
-- APP_ID, API_KEY_B64 and BODY_FILE come from the environment.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json; charset=UTF-8"
wrk.headers["X-CloudPlatform-ApplicationId"] = os.getenv("APP_ID")
wrk.headers["X-CloudPlatform-APIKey"] = os.getenv("API_KEY_B64")
local f = assert(io.open(os.getenv("BODY_FILE"), "r"))
wrk.body = f:read("*a")
f:close()

done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d rps=%.1f p50_us=%d p99_us=%d max_us=%d non2xx=%d errors=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), latency.max,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
