-- The declarative layer: experiments, charts, figures and their validation.
local T = dofile("tests/lua/testlib.lua")
local sl = require "scalelua"

-- A small synthetic log: two methods, three runs each, exact power-law
-- frontier so the fit is known.
local function make_log(path)
  local f = assert(io.open(path, "w"))
  f:write("run,method,params,tokens,loss\n")
  for _, m in ipairs({ { "a", 2.0, -0.1 }, { "b", 1.8, -0.08 } }) do
    for r, N in ipairs({ 1e8, 1.5e8, 2.25e8 }) do
      for k = 1, 40 do
        local D = 20 * N * k / 40
        local C = 6 * N * D / 8.64e19
        -- above the law for the first quarter of the run, on it after
        local L = m[2] * C ^ m[3] * (1 + 0.5 * math.max(0, 1 - k / 10) ^ 2)
        f:write(string.format("%s%d,%s,%.17g,%.17g,%.17g\n", m[1], r, m[1], N, D, L))
      end
    end
  end
  f:close()
end

local dir = T.tmpdir()
local log = dir .. "/log.csv"
make_log(log)

-- Line of the caller, to check that errors point at the recipe line.
local function line() return debug.getinfo(2, "l").currentline end

T.test("experiment groups, envelopes and fits", function()
  -- the runs' on-law parts cover [c1/4, 5.0625 c1]: there the envelope is
  -- the law exactly (log-log interpolation of a power law is exact)
  local c1 = 6 * 1e8 * 20e8 / 8.64e19
  local e = sl.experiment { data = log, compute = {}, y = "loss", series = "method",
    curve = "run", envelope = true, fit = { law = "powerlaw", range = { 0.26 * c1, 5 * c1 } } }
  T.eq(#e.series, 2)
  T.eq(e.series[1].name, "a")
  T.eq(#e.series[1].curves, 3)
  T.eq(#e.series[1].curves[1].x, 40)
  T.eq(e.series[1].envelope:nrows(), 1500)
  -- the envelope is made of run ends (on the law) and interpolations above it
  T.near(e.series[1].fit.b, -0.1, 1e-9)
  T.near(e.series[1].fit.a, 2.0, 1e-9)
  T.near(e.series[2].fit.b, -0.08, 1e-9)
  T.near(e.series[2].fit.a, 1.8, 1e-9)
  -- without the range the early, above-law parts bend the fit
  local e2 = sl.experiment { data = log, compute = {}, y = "loss", series = "method",
    curve = "run", envelope = true, fit = "powerlaw" }
  T.truthy(math.abs(e2.series[1].fit.b + 0.1) > 1e-3, "unrestricted fit differs")
  local rep = e:report()
  T.truthy(rep:find("fitted laws, loss against compute", 1, true), rep)
  T.truthy(rep:find("cross at compute", 1, true), rep)
  T.truthy(tostring(e):find("3 curves", 1, true), tostring(e))
  T.eq(e:get("b").name, "b")
  T.eq(e:get("zz"), nil)
end)

T.test("compute: 6ND in PFLOP/s-days, flops unit, custom function", function()
  local e = sl.experiment { data = log, compute = {}, y = "loss" }
  local t = e.table
  T.near(t.compute[1], 6 * t.params[1] * t.tokens[1] / 8.64e19)
  e = sl.experiment { data = log, compute = { unit = "flops", name = "C" }, y = "loss" }
  T.near(e.table.C[1], 6 * e.table.params[1] * e.table.tokens[1])
  e = sl.experiment { data = log, compute = { flops = function(N, D) return 8 * N * D end }, y = "loss" }
  T.near(e.table.compute[1], 8 * e.table.params[1] * e.table.tokens[1] / 8.64e19)
end)

T.test("where, derive, smooth and fit range", function()
  local e = sl.experiment { data = log, where = { method = "a" }, compute = {},
    derive = { logloss = function(t) return t.loss:log() end },
    y = "loss", curve = "run", smooth = { ema = 0.5 },
    fit = { law = "powerlaw", range = { 1e-3, 1e3 } } }
  T.eq(#e.series, 1)
  T.eq(e.series[1].name, "all")
  T.near(e.table.logloss[1], math.log(e.table.loss[1]))
  T.truthy(e.series[1].fit, "fit present")
end)

T.test("typos name the field, the line and a suggestion", function()
  local l = line() + 1
  local err = T.raises(function() sl.experiment { data = log, y = "loss", compute = {}, serie = "method" } end,
    "unknown field 'serie' (did you mean 'series'?)")
  T.truthy(err:find("test_recipe.lua:" .. l, 1, true), "line in " .. err)
  T.raises(function() sl.experiment { data = log, compute = {}, y = "los" } end,
    "no column 'los' (did you mean 'loss'?)")
  T.raises(function() sl.experiment { data = log, compute = {}, y = "loss", fit = "powerlwa" } end,
    "unknown law 'powerlwa' (did you mean 'powerlaw'?)")
  T.raises(function() sl.experiment { data = log, compute = { parms = "params" }, y = "loss" } end,
    "experiment.compute: unknown field 'parms' (did you mean 'params'?)")
  T.raises(function() sl.experiment { data = dir .. "/nope.csv", y = "loss" } end, "nope.csv")
  T.raises(function() sl.experiment { y = "loss" } end, "field 'data' is required")
  T.raises(function() sl.experiment { data = log, compute = {}, y = "loss", smooth = { ema = 0.1, trailing = 3 } } end,
    "exactly one of")
end)

T.test("chart validation happens before drawing", function()
  local e = sl.experiment { data = log, compute = {}, y = "loss", series = "method",
    curve = "run", envelope = true, fit = "powerlaw" }
  T.raises(function() sl.chart { data = e, x = { lable = "C" } } end,
    "chart.x: unknown field 'lable' (did you mean 'label'?)")
  T.raises(function() sl.chart { data = e, x = { min = 0 } } end, "a log axis needs positive limits")
  T.raises(function() sl.chart { data = e, style = { c = { color = "red" } } } end, "no series 'c'")
  T.raises(function() sl.chart { data = e, style = { a = { colour = "red" } } } end,
    "did you mean 'color'?")
  T.raises(function() sl.chart { data = e, layers = { "curvs" } } end, "did you mean 'curves'?")
  T.raises(function() sl.chart { data = e, legend = "upper rigth" } end, "did you mean 'upper right'?")
  T.raises(function() sl.chart { data = e, output = dir .. "/x.gif" } end, "unknown format")
  T.raises(function() sl.chart { data = {} } end, "must be an experiment")
  local noenv = sl.experiment { data = log, compute = {}, y = "loss", series = "method" }
  T.raises(function() sl.chart { data = noenv, layers = { "projection" } } end, "has no fit")
  local f = io.open(dir .. "/keep.png", "w"); f:write("old"); f:close()
  T.raises(function() sl.chart { data = e, output = dir .. "/missing/x.png" } end, "missing")
end)

T.test("chart renders PNG, SVG and PDF; figure grids", function()
  local e = sl.experiment { data = log, compute = {}, y = "loss", series = "method",
    curve = "run", envelope = true, fit = "powerlaw" }
  local c = sl.chart { data = e, x = { label = "PFLOP/s-days" }, y = { label = "loss" },
    style = { a = { color = "blue", label = "A" }, b = { color = "red" } },
    layers = { "curves", envelope = { legend = "%s frontier" }, projection = { range = { 1e-4, 10 } } },
    output = { dir .. "/c.png", dir .. "/c.svg", dir .. "/c.pdf" } }
  T.eq(#c.written, 3)
  for _, ext in ipairs({ "png", "svg", "pdf" }) do
    local f = assert(io.open(dir .. "/c." .. ext, "rb"))
    local s = f:read("a")
    f:close()
    T.truthy(#s > 1000, ext .. " size")
  end
  local svg = io.open(dir .. "/c.svg"):read("a")
  T.truthy(svg:find("frontier", 1, true) or svg:find("<path", 1, true), "svg content")
  local w = sl.figure { panels = { c, c, c }, cols = 2, output = dir .. "/g.png" }
  T.eq(#w, 1)
  T.raises(function() sl.figure { panels = { c, c, c }, rows = 1, cols = 2, output = dir .. "/g.png" } end,
    "too small")
  T.raises(function() sl.figure { panels = { c }, ouput = "x.png" } end, "did you mean 'output'?")
end)

T.test("outdir", function()
  local e = sl.experiment { data = log, compute = {}, y = "loss" }
  sl.outdir = dir
  sl.chart { data = e, layers = { "curves" }, output = "o.png" }
  sl.outdir = nil
  T.truthy(io.open(dir .. "/o.png"), "written under outdir")
end)

os.execute("rm -rf " .. dir)
os.exit(T.done("test_recipe"))
