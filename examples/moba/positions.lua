-- MoBA (arXiv 2502.13189), appendix: one panel per 2K window of positions
-- in 32K sequences, each with the two methods' training curves and the power
-- laws fitted to their lower envelopes (synthetic logs; see README.md here).
--   build/scalelua examples/moba/positions.lua [--outdir DIR]
local sl = require "scalelua"

local logs = sl.read_csv(sl.here "data/positions_32k.csv")
local style = { moba = { color = "blue" }, full = { color = "red" } }
local panels = {}
print(string.format("%-12s %-28s %-28s", "positions", "MoBA", "Full Attention"))
for k = 0, 30, 2 do
  local runs = sl.experiment {
    data     = logs,
    compute  = { params = "params", tokens = "tokens" },
    y        = string.format("loss_%dk_%dk", k, k + 2),
    series   = "method", curve = "run",
    labels   = { moba = "MoBA", full = "Full Attention" },
    envelope = true,
    fit      = "powerlaw",
  }
  print(string.format("%-12s %-28s %-28s", string.format("%dK-%dK", k, k + 2),
    tostring(runs:get("moba").fit), tostring(runs:get("full").fit)))
  panels[#panels + 1] = sl.chart {
    data   = runs,
    title  = string.format("Positions %dK-%dK", k, k + 2),
    x      = { label = "PFLOP/s-days", min = 0.05, max = 20 },
    y      = { label = "LM loss" },
    style  = style,
    layers = { "curves", "projection" },
    legend = "upper right",
  }
end

sl.figure {
  panels = panels, cols = 4,
  size   = { 16, 13 }, dpi = 100,
  output = { "moba_positions.png", "moba_positions.svg" },
}
