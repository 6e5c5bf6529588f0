-- wrk script: signed-in participants post comments. BENCH_CREDS names a file of
-- "cookie<TAB>csrf token" lines (one per participant); BENCH_PATH is the form's action;
-- BENCH_NONCE keeps idempotency keys of different runs apart. A durable post is a 303 to
-- its receipt; anything else counts as a status error.
local counter = 0
local creds = {}
local path = os.getenv("BENCH_PATH")
local nonce = os.getenv("BENCH_NONCE") or "0"
local threads = 0

setup = function(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

init = function(args)
  for line in io.lines(os.getenv("BENCH_CREDS")) do
    local cookie, csrf = line:match("^(.-)\t(.*)$")
    if cookie then
      table.insert(creds, { cookie = cookie, csrf = csrf })
    end
  end
end

request = function()
  counter = counter + 1
  local c = creds[(counter + tid) % #creds + 1]
  local body = "csrf_token=" .. c.csrf
    .. "&stance=propose_change&body=Benchmark+comment+number+" .. counter
    .. "+the+deadline+should+be+longer+for+small+businesses."
    .. "&proposed_wording=&quote=&organization_id="
    .. "&idempotency_key=bench-" .. nonce .. "-" .. tid .. "-" .. counter
  return wrk.format("POST", path, {
    ["Cookie"] = c.cookie,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, body)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
