-- wrk script: POSTs one captured Faro SDK payload to /collect/<key> over keep-alive connections.
-- Environment: BENCH_BODY_FILE (path of a fixture body), BENCH_APP_KEY (app key).
local file = assert(io.open(os.getenv("BENCH_BODY_FILE"), "rb"))
local body = file:read("*a")
file:close()

wrk.method = "POST"
wrk.path = "/collect/" .. os.getenv("BENCH_APP_KEY")
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Origin"] = "http://127.0.0.1:5600"
