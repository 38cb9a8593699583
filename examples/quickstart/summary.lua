-- Quick start: read a training log and print a summary of each run.
--   build/scalelua examples/quickstart/summary.lua
local sl = require "scalelua"

local here = arg[0]:match("^(.*)/[^/]*$") or "."
local t = sl.read_csv(here .. "/runs.csv")
t.compute = sl.pflops_days(sl.flops_6nd(t.params, t.tokens))

print(t:head(3))
print()
print(string.format("%-10s %-6s %8s %6s %12s %8s %8s", "run", "method", "params",
  "steps", "PFLOP/s-d", "first", "final"))
for run, r in t:group_by("run") do
  local n = #r
  print(string.format("%-10s %-6s %7.0fM %6d %12.4g %8.4f %8.4f", run, r.method[1],
    r.params[1] / 1e6, r.step[n], r.compute[n], r.loss[1], r.loss[n]))
end
