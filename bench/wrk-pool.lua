-- wrk script of `npm run bench`: replays a pool of raw requests written by bench/lib/request-pool.ts
-- (simulated Faro SDK sessions), filling in per request an app key (round-robin over a list) and a
-- fresh 20-character Idempotency-Key. Counts answers by status and prints one JSON line at the end.
-- Environment: BENCH_POOL (pool file), BENCH_KEYS (app keys, one a line), BENCH_RUN_ID (6 chars).

local KEY = "BENCHAPPKEYPLACEHOLDER"
local IDEMPOTENCY = "BENCHIDEMPOTENCYPLACEHOLDER"

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end

local function read_all(path)
  local file = assert(io.open(path, "rb"), "cannot open " .. path)
  local data = file:read("*a")
  file:close()
  return data
end

-- Each raw request is cut at its placeholders once, so a request costs a few concatenations.
local pool = {}
local keys = {}
local run_id
local counter = 0
local next_request = 1
local next_key = 1
statuses = {}

function init(args)
  local data = read_all(os.getenv("BENCH_POOL"))
  local position = 1
  while position <= #data do
    local newline = data:find("\n", position, true)
    local length = tonumber(data:sub(position, newline - 1))
    local raw = data:sub(newline + 1, newline + length)
    position = newline + length + 1
    local key_at = raw:find(KEY, 1, true)
    local idem_at = raw:find(IDEMPOTENCY, 1, true)
    table.insert(pool, {
      raw:sub(1, key_at - 1),
      raw:sub(key_at + #KEY, idem_at - 1),
      raw:sub(idem_at + #IDEMPOTENCY),
    })
  end
  for line in read_all(os.getenv("BENCH_KEYS")):gmatch("[^\n]+") do
    table.insert(keys, line)
  end
  run_id = string.format("%s%02d", os.getenv("BENCH_RUN_ID") or "wrkrun", thread_number % 100)
  -- Threads start at different places in the pool, so they do not send the same bodies in step.
  next_request = ((thread_number - 1) * 997) % #pool + 1
end

function request()
  local parts = pool[next_request]
  next_request = next_request % #pool + 1
  local key = keys[next_key]
  next_key = next_key % #keys + 1
  counter = counter + 1
  return parts[1] .. key .. parts[2] .. string.format("%s%012d", run_id, counter) .. parts[3]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    local thread_statuses = thread:get("statuses")
    for status, count in pairs(thread_statuses) do
      counts[status] = (counts[status] or 0) + count
    end
  end
  local status_json = {}
  for status, count in pairs(counts) do
    table.insert(status_json, string.format('"%d":%d', status, count))
  end
  io.write(string.format(
    'BENCH_JSON {"durationUs":%d,"requests":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latencyUs":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d},"statuses":{%s}}\n',
    summary.duration, summary.requests, summary.bytes,
    summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, table.concat(status_json, ",")))
end
