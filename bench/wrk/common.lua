-- Shared by the scenario scripts: the scenario's config, per-thread identity, a clock and the report.
--
-- Each scenario script is started as `wrk ... -s SCRIPT URL -- CONFIG.lua`; CONFIG.lua is written by
-- bench/run.py and returns a table (paths, tokens, steps, output file). wrk runs the script once in its
-- main Lua state (setup, done) and once per thread (init, request, response).

local ffi = require("ffi")
pcall(ffi.cdef, [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]])
local CLOCK_MONOTONIC = 1
local now_ts = ffi.new("bench_timespec")

local common = {}

function common.now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, now_ts)
  return tonumber(now_ts.tv_sec) * 1000000 + tonumber(now_ts.tv_nsec) / 1000
end

function common.load_config(args)
  assert(args and args[1], "usage: wrk ... -s SCRIPT URL -- CONFIG.lua")
  return dofile(args[1])
end

-- Fill {n} (a number unique to this request over every thread), {id} (the next of cfg.ids) and
-- {token} in a template.
function common.fill(template, values)
  return (template:gsub("{(%w+)}", function(name)
    local value = values[name]
    if value == nil then return "{" .. name .. "}" end
    return tostring(value)
  end))
end

local function encode(value)
  local kind = type(value)
  if kind == "table" then
    if #value > 0 or next(value) == nil then
      local parts = {}
      for i = 1, #value do parts[i] = encode(value[i]) end
      return "[" .. table.concat(parts, ",") .. "]"
    end
    local parts = {}
    for key, item in pairs(value) do
      parts[#parts + 1] = string.format("%q:%s", tostring(key), encode(item))
    end
    return "{" .. table.concat(parts, ",") .. "}"
  elseif kind == "string" then
    return string.format("%q", value)
  elseif kind == "number" then
    if value ~= value or value == math.huge or value == -math.huge then return "null" end
    return string.format("%.17g", value)
  elseif kind == "boolean" then
    return tostring(value)
  end
  return "null"
end
common.encode = encode

-- setup() for the main state: number the threads (each reads its number as the global
-- `thread_index`) and remember them, so done() can read what each collected.
common.threads = {}
function common.setup(thread)
  thread:set("thread_index", #common.threads)
  table.insert(common.threads, thread)
end

-- The index setup() gave this thread.
function common.thread_index()
  return rawget(_G, "thread_index") or 0
end

-- In done(): a global that every thread set (the main state never sees the config).
function common.from_threads(name)
  for _, thread in ipairs(common.threads) do
    local value = thread:get(name)
    if value ~= nil then return value end
  end
end

-- The whole run as wrk measured it, written as JSON to the file the config names.
function common.report(summary, latency, extra)
  local report = {
    duration_us = summary.duration,
    requests = summary.requests,
    bytes = summary.bytes,
    errors = {
      connect = summary.errors.connect, read = summary.errors.read, write = summary.errors.write,
      status = summary.errors.status, timeout = summary.errors.timeout,
    },
    latency_us = {
      mean = latency.mean, max = latency.max,
      p50 = latency:percentile(50), p90 = latency:percentile(90), p99 = latency:percentile(99),
    },
    threads = #common.threads,
  }
  for key, value in pairs(extra or {}) do report[key] = value end
  local file = assert(io.open(common.from_threads("output_path"), "w"))
  file:write(encode(report))
  file:close()
end

return common
