-- MoBA (arXiv 2502.13189), Figure 3(a): LM loss at sequence length 8K
-- against training compute, with the power laws fitted to the lower envelope
-- of each method's five runs (synthetic logs; see README.md here).
--   build/scalelua examples/moba/lm_loss.lua [--outdir DIR]
local sl = require "scalelua"

local runs = sl.experiment {
  data     = "data/lm_loss_8k.csv",
  compute  = { params = "params", tokens = "tokens" },
  y        = "lm_loss",
  series   = "method", curve = "run",
  labels   = { moba = "MoBA", full = "Full Attention" },
  envelope = true,
  fit      = "powerlaw",
}
print(runs:report())

sl.chart {
  data   = runs,
  x      = { label = "PFLOP/s-days", min = 0.05, max = 20 },
  y      = { label = "LM loss (seqlen=8K)", min = 1.9 },
  style  = { moba = { color = "blue" }, full = { color = "red" } },
  layers = { "curves", "projection" },
  legend = "upper right",
  output = { "moba_lm_loss.png", "moba_lm_loss.svg" },
}
