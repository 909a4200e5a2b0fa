-- Customer scenarios: each thread is one customer with one connection (run with -t N -c N), sending
-- cfg.steps in a loop (cart adds, then a checkout...). Because a thread's requests go one at a time,
-- request() and response() pair up, so each kind of step gets its own latencies and status counts:
-- each thread writes one line per response to cfg.step_log .. THREAD .. ".log" ("kind status µs"),
-- read back by bench/run.py (wrk cannot hand nested tables from the threads to done()).
--   step = { kind = "checkout", method = "POST", path = "/api/orders/checkout/", body = "..." }
-- {id} in a path or body is taken from cfg.ids by a number unique over all threads.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")

local cfg, headers, me, step, counter, pending_kind, pending_start, step_log

function setup(thread)
  common.setup(thread)
end

function init(args)
  cfg = common.load_config(args)
  output_path = cfg.output
  me = common.thread_index()
  assert(cfg.tokens and cfg.tokens[me + 1], "one customer token per thread is needed")
  headers = { ["Authorization"] = "Bearer " .. cfg.tokens[me + 1], ["Content-Type"] = "application/json" }
  -- A scenario run in slices resumes each customer where the previous slice left it.
  step = (cfg.start_steps and cfg.start_steps[me + 1]) or 1
  counter = 0
  step_log = assert(io.open(cfg.step_log .. me .. ".log", "w"))
  step_log:setvbuf("full")
end

-- wrk builds one request per thread that it never sends, and rebuilds one after a reconnect: the
-- step moves on only in response(), so the sequence is always sent in order.
function request()
  local s = cfg.steps[step]
  local n = (cfg.n_offset or 0) + me + cfg.threads * counter
  local values = { n = n, id = cfg.ids and cfg.ids[(n % #cfg.ids) + 1] }
  local body = s.body and common.fill(s.body, values) or nil
  pending_kind = s.kind
  pending_start = common.now_us()
  return wrk.format(s.method, common.fill(s.path, values), headers, body)
end

function response(status, response_headers, body)
  local elapsed = common.now_us() - pending_start
  step_log:write(pending_kind, " ", status, " ", string.format("%.0f", elapsed), "\n")
  step = step % #cfg.steps + 1
  counter = counter + 1
  if status >= 400 then
    -- The start of an error body, kept as a sample in the results.
    step_log:write("#error ", pending_kind, " ", status, " ", ((body or ""):sub(1, 300):gsub("\n", " ")), "\n")
  end
end

function done(summary, latency, requests)
  common.report(summary, latency)
end
