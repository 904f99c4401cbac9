-- wrk script for `npm run bench`: every request is the next line of a file of request paths (each a valid hit),
-- so the load is not one URL over and over. Usage: wrk ... -s bench/wrk-rotate.lua <url> -- <paths-file> [user-agent]
-- At the end it prints one line `BENCH_JSON {...}` that bench/run.mjs parses: requests sent and answered, errors,
-- and latency percentiles in microseconds.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  paths = {}
  for line in io.lines(args[1]) do
    if line ~= "" then
      paths[#paths + 1] = line
    end
  end
  if args[2] then
    wrk.headers["User-Agent"] = args[2]
  end
  -- Each thread starts at its own place in the list.
  position = math.random(#paths)
  sent = 0
end

function request()
  sent = sent + 1
  position = position % #paths + 1
  return wrk.format("GET", paths[position])
end

function done(summary, latency, requests)
  local total_sent = 0
  for _, thread in ipairs(threads) do
    total_sent = total_sent + thread:get("sent")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"sent":%d,"completed":%d,"duration_us":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    total_sent, summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
