-- MoBA (arXiv 2502.13189), Figure 3(b): trailing LM loss (seqlen=32K, last
-- 2K positions) against training compute, with the power laws fitted to the
-- lower envelope of each method's five runs.  The logs are synthetic,
-- calibrated to the paper's published fits (see README.md here).
--   build/scalelua examples/moba/figure.lua [--outdir DIR]
local sl = require "scalelua"

local runs = sl.experiment {
  data     = "data/trailing_32k.csv",
  compute  = { params = "params", tokens = "tokens" },  -- 6ND in PFLOP/s-days
  y        = "trailing_loss",
  series   = "method", curve = "run",
  labels   = { moba = "MoBA", full = "Full Attention" },
  envelope = true,
  fit      = "powerlaw",
}
print(runs:report())

sl.chart {
  data   = runs,
  x      = { label = "PFLOP/s-days", min = 0.05, max = 20 },
  y      = { label = "Trailing LM loss (seqlen=32K, last 2K)", min = 0.9 },
  style  = { moba = { color = "blue" }, full = { color = "red" } },
  layers = { "curves", "projection" },
  legend = "upper right",
  output = { "moba_trailing_loss.png", "moba_trailing_loss.svg" },
}
