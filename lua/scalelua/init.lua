-- scalelua: scaling-law experiments in Lua.
--   local sl = require "scalelua"
-- The numerics live in the C module scalelua.core; this file gives them
-- their public names and adds the declarative layer (scalelua.recipe).
local core = require "scalelua.core"
local util = require "scalelua.util"

local sl = {}

sl.version = core.version
-- 1 PFLOP/s-day in FLOPs: 1e15 FLOP/s for 86,400 s.
sl.PFLOPS_DAY = 8.64e19
-- Directory that recipes write their outputs to (nil: current directory);
-- `scalelua --outdir DIR` sets it.
sl.outdir = nil

-- sl.here(path): path relative to the directory of the calling recipe
-- (absolute paths unchanged), so recipes run from any directory.
function sl.here(path)
  return util.join(util.caller_dir(2), path)
end

-- Tables ------------------------------------------------------------------
sl.read_csv = core.read_csv
sl.read_csv_string = core.read_csv_string
sl.csv_records = core.csv_records
sl.table = core.table
sl.column = core.column

-- Machine-readable results (core/bind/l_io.c): t:write_csv(path) is a
-- Table method; JSON of value trees holding Tables, Columns and fits.
sl.write_csv = core.write_csv
sl.to_json = core.to_json
sl.write_json = core.write_json
sl.from_json = core.from_json

-- Compute -----------------------------------------------------------------
-- Training FLOPs by the 6ND convention (Kaplan et al. 2020).
function sl.flops_6nd(params, tokens) return 6 * params * tokens end
-- FLOPs to PFLOP/s-days.
function sl.pflops_days(flops) return flops / sl.PFLOPS_DAY end

-- Envelopes and smoothing -------------------------------------------------

-- sl.envelope(curves, opts) with curves a list of {x=, y=, name=}, or
-- sl.envelope(table, {x = "compute", y = "loss", by = "run", grid = 1500,
--                     mode = "grid"|"points"}).
-- Returns a Table with columns x, y, curve, and the number of excluded
-- (non-positive or NaN) points.
function sl.envelope(curves, opts)
  opts = opts or {}
  util.check_fields(opts, { "x", "y", "by", "grid", "mode" }, "envelope", 2)
  local env = { grid = opts.grid, mode = opts.mode }
  if util.is_table(curves) then
    local t = curves
    if not (opts.x and opts.y) then
      error("envelope: a Table needs opts.x and opts.y (column names)", 2)
    end
    local list = {}
    if opts.by then
      for key, sub in t:group_by(opts.by) do
        list[#list + 1] = { x = sub[opts.x], y = sub[opts.y], name = tostring(key) }
      end
    else
      list[1] = { x = t[opts.x], y = t[opts.y], name = "1" }
    end
    for _, c in ipairs(list) do
      if c.x == nil then error("envelope: no column '" .. opts.x .. "'", 2) end
      if c.y == nil then error("envelope: no column '" .. opts.y .. "'", 2) end
    end
    curves = list
  elseif opts.x or opts.y or opts.by then
    error("envelope: opts.x, opts.y and opts.by go with a Table", 2)
  end
  return core.envelope(curves, env)
end

sl.smooth = {
  -- Bias-corrected exponential moving average; alpha weights the new value.
  ema = function(y, alpha) return core.smooth("ema", y, alpha) end,
  -- Mean of the last `window` points.
  trailing = function(y, window) return core.smooth("trailing", y, window) end,
  -- Mean of the points with x within x[i] * (1 +- frac).
  proportional = function(x, y, frac) return core.smooth("proportional", y, frac, x) end,
}

-- Fits --------------------------------------------------------------------
sl.fit = {
  powerlaw = core.fit_powerlaw,
  saturating = core.fit_saturating,
  nls = core.fit_nls,
  linear = core.fit_linear,
  poly = core.fit_poly,
  chinchilla = core.fit_chinchilla,
}
sl.crossover = core.crossover
sl.compute_ratio = core.compute_ratio

-- Recipes -----------------------------------------------------------------
-- experiment, chart and figure live in scalelua.recipe, loaded on first use
-- so that `scalelua -e ...` starts fast.
local lazy = { experiment = "scalelua.recipe", chart = "scalelua.recipe",
  figure = "scalelua.recipe" }
setmetatable(sl, { __index = function(t, k)
  local mod = lazy[k]
  if not mod then return nil end
  local m = require(mod)
  for name, from in pairs(lazy) do
    if from == mod then rawset(t, name, m[name]) end
  end
  return rawget(t, k)
end })

-- Help --------------------------------------------------------------------
function sl.help(what)
  return require("scalelua.help").help(sl, what)
end

return sl
