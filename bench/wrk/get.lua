-- GET scenarios: cycles through cfg.paths; {n} in a path is unique per request over all threads (a
-- cache-buster; cfg.n_offset moves it past an earlier run's numbers), {id} is taken from cfg.ids by
-- that number; with cfg.tokens each thread sends one customer's bearer token.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")

local cfg, headers, me, position, counter

function setup(thread)
  common.setup(thread)
end

function init(args)
  cfg = common.load_config(args)
  output_path = cfg.output
  me = common.thread_index()
  headers = {}
  if cfg.tokens then
    headers["Authorization"] = "Bearer " .. cfg.tokens[(me % #cfg.tokens) + 1]
  end
  position = me % #cfg.paths
  counter = 0
end

function request()
  local n = (cfg.n_offset or 0) + me + cfg.threads * counter
  counter = counter + 1
  position = position % #cfg.paths + 1
  local path = cfg.paths[position]
  if path:find("{", 1, true) then
    local id = cfg.ids and cfg.ids[(n % #cfg.ids) + 1]
    path = common.fill(path, { n = n, id = id })
  end
  return wrk.format("GET", path, headers)
end

function done(summary, latency, requests)
  common.report(summary, latency)
end
