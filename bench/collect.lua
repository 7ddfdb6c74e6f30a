-- wrk script: POSTs one captured Faro SDK payload to /collect/<key> over keep-alive connections.
-- Environment: PHAROS_BODY_FILE (path of a fixture body), PHAROS_KEY (app key).
local file = assert(io.open(os.getenv("PHAROS_BODY_FILE"), "rb"))
local body = file:read("*a")
file:close()

wrk.method = "POST"
wrk.path = "/collect/" .. os.getenv("PHAROS_KEY")
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Origin"] = "http://127.0.0.1:5600"

local statuses = {}
function response(status)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  io.write("status counts (last thread):")
  for status, count in pairs(statuses) do io.write(" ", status, "=", count) end
  io.write("\n")
end
