-- Mixed traffic (`make soak`): each thread is one customer with one connection (run with -t N -c N),
-- sending cfg.steps in a loop as sequence.lua does (browse, cart adds, a checkout: the cycle's make-up
-- gives the mix). Steps of kind "browse" take their path from cfg.browse by a number unique over all
-- threads, so browsing walks the catalog instead of repeating one page.
--
-- With cfg.rate (requests/s over all threads) each thread paces itself with wrk's delay(): its k-th
-- request is due at start + k × threads / rate (threads start staggered); a thread behind schedule
-- sends at once but never bursts to catch up more than one interval.
--
-- Each response is one line of the thread's step log (cfg.step_log .. THREAD .. ".log"):
-- "kind status latency_µs ms_since_the_thread_started", so bench/soak.py can cut the run into minutes.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")

local cfg, headers, me, step, counter, pending_kind, pending_start, step_log, interval_us, next_at, started_us

function setup(thread)
  common.setup(thread)
end

function init(args)
  cfg = common.load_config(args)
  output_path = cfg.output
  me = common.thread_index()
  assert(cfg.tokens and cfg.tokens[me + 1], "one customer token per thread is needed")
  headers = { ["Authorization"] = "Bearer " .. cfg.tokens[me + 1], ["Content-Type"] = "application/json" }
  step = 1
  counter = 0
  step_log = assert(io.open(cfg.step_log .. me .. ".log", "w"))
  step_log:setvbuf("full")
  started_us = common.now_us()
  if cfg.rate then
    interval_us = 1000000 * cfg.threads / cfg.rate
    next_at = started_us + interval_us * me / cfg.threads
  end
end

function delay()
  if not interval_us then
    return 0
  end
  local now = common.now_us()
  if next_at < now - interval_us then
    next_at = now - interval_us
  end
  local wait = next_at - now
  next_at = next_at + interval_us
  if wait <= 0 then
    return 0
  end
  return math.floor(wait / 1000)
end

function request()
  local s = cfg.steps[step]
  local n = me + cfg.threads * counter
  local path = s.path
  if s.kind == "browse" then
    path = cfg.browse[(n % #cfg.browse) + 1]
  end
  pending_kind = s.kind
  pending_start = common.now_us()
  return wrk.format(s.method, path, headers, s.body)
end

function response(status, response_headers, body)
  local now = common.now_us()
  step_log:write(pending_kind, " ", status, " ", string.format("%.0f", now - pending_start), " ",
                 string.format("%.0f", (now - started_us) / 1000), "\n")
  step = step % #cfg.steps + 1
  counter = counter + 1
  if status >= 400 then
    step_log:write("#error ", pending_kind, " ", status, " ", ((body or ""):sub(1, 300):gsub("\n", " ")), "\n")
  end
end

function done(summary, latency, requests)
  common.report(summary, latency)
end
