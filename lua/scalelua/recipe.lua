-- scalelua.recipe: the declarative layer.
--
--   local runs = sl.experiment { data = "logs/*.csv", compute = {...},
--                                y = "loss", series = "method", curve = "run",
--                                envelope = true, fit = "powerlaw" }
--   sl.chart { data = runs, x = {...}, y = {...}, output = "fig.png" }
--
-- Everything is validated before any work is done: an unknown field, a
-- missing column or a wrong type raises an error that points at the
-- recipe line (error level 2 from the public functions) and names the field.
local core = require "scalelua.core"
local util = require "scalelua.util"

local M = {}
local PFLOPS_DAY = 8.64e19

local check_fields, check_type = util.check_fields, util.check_type

-- Raise at the recipe's level for a missing column, with a suggestion;
-- returns the column's type.  (From t:types(): taking the column itself
-- would copy it.)
local function need_column(t, name, what, level)
  if type(name) ~= "string" then
    error(string.format("%s: expected a column name, got %s", what, type(name)), level + 1)
  end
  local ty = t:types()[name]
  if ty then return ty end
  local msg = string.format("%s: no column '%s'", what, name)
  local s = util.suggest(name, t:names())
  if s then
    msg = msg .. string.format(" (did you mean '%s'?)", s)
  else
    msg = msg .. " (columns: " .. table.concat(t:names(), ", ") .. ")"
  end
  error(msg, level + 1)
end

-- Call f(...) and re-raise a failure at the recipe's level, prefixed.
local function guarded(level, prefix, f, ...)
  local ok, res, extra = pcall(f, ...)
  if not ok then
    error((prefix and (prefix .. ": ") or "") .. tostring(res), level + 1)
  end
  return res, extra
end

-- The CSV reader's default NA markers.
local NA = { [""] = true, NA = true, NaN = true, nan = true, null = true }

-- need_column for a column that must hold numbers.  Text in it (a column
-- read as strings) is reported where it is: through reread (the data's
-- files read again with the column declared numeric) when the data came
-- from files, else by the first row that is no number.
local function need_numbers(t, name, what, reread, level)
  if need_column(t, name, what, level + 1) == "number" then return end
  if reread then reread(name, level + 1) end
  local col = t:column(name)
  for i = 1, #col do
    local v = col[i]
    if tonumber(v) == nil and not NA[v] then
      error(string.format("%s: column '%s' holds text, not numbers (row %d: '%s')", what,
        name, i, tostring(v)), level + 1)
    end
  end
  error(string.format("%s: column '%s' holds text, not numbers", what, name), level + 1)
end

-- Sorted keys of a map, for a deterministic order.
local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

-- Experiments -------------------------------------------------------------

local Experiment = {}
Experiment.__index = Experiment
Experiment.__name = "scalelua.Experiment"

local EXPERIMENT_FIELDS = { "name", "data", "read", "where", "compute", "derive",
  "x", "y", "series", "curve", "smooth", "envelope", "fit", "labels", "results" }
local COMPUTE_FIELDS = { "params", "tokens", "flops", "unit", "name" }
local FIT_FIELDS = { "law", "range", "method", "bootstrap", "seed", "level",
  "start", "lower", "upper", "weights", "max_iter", "tol" }
local LAWS = { "powerlaw", "saturating" }

-- The columns of the data a recipe uses, when nothing else can look at
-- the others: no user function (where, derive and compute.flops may use
-- any column) and no projection of its own in `read`.  nil: all of them.
local function needed_columns(spec)
  local c, r = spec.compute, spec.read
  if spec.derive ~= nil or (spec.where ~= nil and type(spec.where) ~= "table") then return nil end
  if c ~= nil and (type(c) ~= "table" or (c.flops ~= nil and c.flops ~= "6ND")) then return nil end
  if r ~= nil and (type(r) ~= "table" or r.columns ~= nil) then return nil end
  local made = c and (c.name or "compute")
  local out, seen = {}, {}
  local function add(name)
    if type(name) == "string" and name ~= made and not seen[name] then
      seen[name] = true
      out[#out + 1] = name
    end
  end
  add(spec.series)
  add(spec.curve)
  add(spec.x)
  add(spec.y)
  if c then
    add(c.params or "params")
    add(c.tokens or "tokens")
  end
  if spec.where then
    for _, k in ipairs(sorted_keys(spec.where)) do add(k) end
  end
  return #out > 0 and out or nil
end

local function load_data(spec, dir, level)
  local data = spec.data
  if util.is_table(data) then
    -- A copy, of the columns the recipe uses when that is safe.
    local cols, types = needed_columns(spec), data:types()
    for _, c in ipairs(cols or {}) do
      if not types[c] then cols = nil break end
    end
    return cols and data:select(cols) or data:copy()
  end
  if data == nil then error("experiment: field 'data' is required (a CSV path, glob or list)", level + 1) end
  local function resolve(p)
    check_type(p, "string", "experiment.data", level + 1)
    if p == "-" then return p end
    return util.join(dir, p)
  end
  local paths
  if type(data) == "table" then
    paths = {}
    for i, p in ipairs(data) do paths[i] = resolve(p) end
  else
    paths = resolve(data)
  end
  if spec.read ~= nil then check_type(spec.read, "table", "experiment.read", level + 1) end
  -- Only the columns the recipe uses are parsed when that is safe; should
  -- that read fail (a column the data lacks, say), the full read below
  -- gives the usual message.  Standard input cannot be read twice.
  local t
  local stdin = paths == "-"
  if type(paths) == "table" then
    for _, p in ipairs(paths) do stdin = stdin or p == "-" end
  end
  local cols = not stdin and needed_columns(spec)
  if cols then
    local opts = { columns = cols }
    for k, v in pairs(spec.read or {}) do opts[k] = v end
    local ok, res = pcall(core.read_csv, paths, opts)
    if ok then t = res end
  end
  t = t or guarded(level + 1, nil, core.read_csv, paths, spec.read)
  if t:ncols() == 0 then
    error(string.format("experiment.data: no records in %s (an empty file?)",
      type(data) == "string" and ("'" .. data .. "'") or "the files"), level + 1)
  end
  -- Read again declaring column `name` numeric: the reader then raises at
  -- the first field that is not a number, naming file:line:column.
  local function reread(name, lvl)
    if paths == "-" then return end
    local opts, types = {}, {}
    for k, v in pairs(spec.read or {}) do opts[k] = v end
    for k, v in pairs(opts.types or {}) do types[k] = v end
    types[name] = "number"
    opts.types = types
    guarded(lvl + 1, nil, core.read_csv, paths, opts)
  end
  return t, reread
end

local function apply_where(t, where, level)
  if where == nil then return t end
  if type(where) == "function" then
    -- (parenthesised: a tail call would drop a frame and shift the level)
    return (guarded(level + 1, "experiment.where", t.where, t, where))
  end
  check_type(where, "table", "experiment.where", level + 1)
  for _, col in ipairs(sorted_keys(where)) do
    need_column(t, col, "experiment.where", level + 1)
    t = t:where(col, where[col])
  end
  return t
end

-- The compute column: FLOPs by 6ND (or a user function), in PFLOP/s-days.
local function apply_compute(t, c, level, reread)
  if c == nil then return nil end
  check_fields(c, COMPUTE_FIELDS, "experiment.compute", level + 1)
  local pname, tname = c.params or "params", c.tokens or "tokens"
  need_numbers(t, pname, "experiment.compute.params", reread, level + 1)
  need_numbers(t, tname, "experiment.compute.tokens", reread, level + 1)
  local flops = c.flops or "6ND"
  local unit = c.unit or "pflops_days"
  local name = c.name or "compute"
  if flops == "6ND" then
    -- 6 * N * D (/ PFLOPS_DAY) as the Column expression below would give
    -- it, computed in one step into the table.
    if unit ~= "pflops_days" and unit ~= "flops" then
      error("experiment.compute.unit: expected \"pflops_days\" or \"flops\", got " .. tostring(unit),
        level + 1)
    end
    core.flops_6nd(t, pname, tname, name, unit == "pflops_days" and PFLOPS_DAY or nil)
    return name
  end
  local N, D = t:column(pname), t:column(tname)
  local f
  if type(flops) == "function" then
    f = guarded(level + 1, "experiment.compute.flops", flops, N, D, t)
    if type(f) == "table" then f = core.column(f) end
    if not util.is_column(f) then
      error("experiment.compute.flops: the function must return a column or an array", level + 1)
    end
  else
    error("experiment.compute.flops: expected \"6ND\" or a function(N, D, table), got "
      .. tostring(flops), level + 1)
  end
  if unit == "pflops_days" then
    f = f / PFLOPS_DAY
  elseif unit ~= "flops" then
    error("experiment.compute.unit: expected \"pflops_days\" or \"flops\", got " .. tostring(unit),
      level + 1)
  end
  t[name] = f
  return name
end

local function apply_derive(t, derive, level)
  if derive == nil then return end
  check_type(derive, "table", "experiment.derive", level + 1)
  for _, name in ipairs(sorted_keys(derive)) do
    local f = derive[name]
    check_type(f, "function", "experiment.derive." .. tostring(name), level + 1)
    local v = guarded(level + 1, "experiment.derive." .. name, f, t)
    guarded(level + 1, "experiment.derive." .. name, t.set, t, name, v)
  end
end

local SMOOTHERS = { "ema", "trailing", "proportional" }
local function smoother(spec, level)
  if spec == nil then return nil end
  check_fields(spec, SMOOTHERS, "experiment.smooth", level + 1)
  local kind, n = nil, 0
  for _, k in ipairs(SMOOTHERS) do
    if spec[k] ~= nil then
      kind = k
      n = n + 1
      check_type(spec[k], "number", "experiment.smooth." .. k, level + 1)
    end
  end
  if n ~= 1 then error("experiment.smooth: give exactly one of ema, trailing, proportional", level + 1) end
  local p = spec[kind]
  return function(x, y)
    if kind == "proportional" then return core.smooth_column(kind, y, p, x) end
    return core.smooth_column(kind, y, p)
  end
end

local function fit_spec(f, level)
  if f == nil or f == false then return nil end
  if type(f) == "string" then f = { law = f } end
  check_type(f, "table", "experiment.fit", level + 1)
  check_fields(f, FIT_FIELDS, "experiment.fit", level + 1)
  local law = f.law or "powerlaw"
  local ok = false
  for _, l in ipairs(LAWS) do ok = ok or l == law end
  if not ok then
    local s = util.suggest(tostring(law), LAWS)
    error(string.format("experiment.fit.law: unknown law '%s'%s", tostring(law),
      s and string.format(" (did you mean '%s'?)", s) or ""), level + 1)
  end
  if f.range ~= nil then
    check_type(f.range, "table", "experiment.fit.range", level + 1)
    if type(f.range[1]) ~= "number" or type(f.range[2]) ~= "number" or f.range[1] >= f.range[2] then
      error("experiment.fit.range: expected {lo, hi} with lo < hi", level + 1)
    end
  end
  local opts = {}
  for k, v in pairs(f) do
    if k ~= "law" and k ~= "range" then opts[k] = v end
  end
  return { law = law, range = f.range, opts = opts }
end

-- Fit the law to points (x, y) (arrays or Columns), inside range when
-- given.
local function do_fit(fs, x, y, what, level)
  if fs.range then
    if util.is_column(x) then x = x:totable() end
    if util.is_column(y) then y = y:totable() end
    local fx, fy = {}, {}
    for i = 1, #x do
      if x[i] >= fs.range[1] and x[i] <= fs.range[2] then
        fx[#fx + 1], fy[#fy + 1] = x[i], y[i]
      end
    end
    x, y = fx, fy
  end
  local fitf = core["fit_" .. fs.law]
  local f = guarded(level + 1, what, fitf, x, y, next(fs.opts) and fs.opts or nil)
  -- A law the method could not settle must not be reported or projected
  -- as if it were one (sl.fit.* still returns it, with converged = false).
  if f.converged == false then
    error(string.format("%s: the fit did not converge (%s); try max_iter or start",
      what, tostring(f.reason)), level + 1)
  end
  return f
end

-- Results: machine-readable output -----------------------------------------
-- experiment{results = "file.json"} writes exp:results() there (into
-- sl.outdir when set, like the figures); sl.write_json(path, exp) too.

local function results_path(p, level)
  if p == nil then return nil end
  check_type(p, "string", "experiment.results", level + 1)
  if not p:lower():match("%.json$") then
    error("experiment.results: '" .. p .. "': expected a .json file name", level + 1)
  end
  local sl = package.loaded["scalelua"]
  return util.join(sl and sl.outdir or "", p)
end

-- exp:results() -> {x=, y=, series = {{name=, label=, law=, fit=, envelope=,
-- excluded=, curves=}}, crossovers = {{a=, b=, x=, y=}}}: the fitted laws,
-- the envelope points and where each pair of laws cross (x = nil: never).
function Experiment:results()
  local out = { name = self.name, x = self.x, y = self.y, series = {},
    crossovers = setmetatable({}, { __jsontype = "array" }) }
  local fitted = {}
  for _, s in ipairs(self.series) do
    out.series[#out.series + 1] = { name = s.name, label = s.label, curves = #s.curves,
      fit = s.fit, law = s.fit and tostring(s.fit), envelope = s.envelope,
      excluded = s.excluded }
    if s.fit then fitted[#fitted + 1] = s end
  end
  for i = 1, #fitted do
    for j = i + 1, #fitted do
      local a, b = fitted[i], fitted[j]
      local ok, xc = pcall(core.crossover, a.fit, b.fit)
      if ok then
        out.crossovers[#out.crossovers + 1] = { a = a.name, b = b.name, x = xc,
          y = xc and a.fit.predict(xc) }
      end
    end
  end
  return out
end
Experiment.__tojson = Experiment.results

local function write_results(exp, path, level)
  guarded(level + 1, "experiment.results", core.write_json, path, exp:results())
  exp.results_file = path
end

-- NaN as a table key (a real NaN cannot be one).
local NAN_KEY = {}

-- The series of table t and the curves of each: {key =, curves = {{key =,
-- x =, y =}, ...}}, in order of first appearance (of each series, and of
-- each curve within its series), x and y the curve's rows of columns xcol
-- and ycol as Columns.  One grouping pass in C by (series, curve); without
-- a series (curve) column there is one series (one curve per series) "all".
local function series_curves(t, scol, ccol, xcol, ycol)
  if scol == nil and ccol == nil then
    return { { key = "all", curves = { { key = "all", x = t:column(xcol), y = t:column(ycol) } } } }
  end
  local vals = { xcol, ycol }
  local out = {}
  if scol == nil or ccol == nil then
    local list = {}
    for i, g in ipairs(core.group_columns(t, { scol or ccol }, vals)) do
      list[i] = { key = g[1], x = g[2], y = g[3] }
    end
    if scol == nil then return { { key = "all", curves = list } } end
    for i, c in ipairs(list) do
      out[i] = { key = c.key, curves = { { key = "all", x = c.x, y = c.y } } }
    end
    return out
  end
  local index = {}
  for _, g in ipairs(core.group_columns(t, { scol, ccol }, vals)) do
    local sk = g[1][1]
    local k = sk ~= sk and NAN_KEY or sk
    local s = index[k]
    if not s then
      s = { key = sk, curves = {} }
      index[k] = s
      out[#out + 1] = s
    end
    s.curves[#s.curves + 1] = { key = g[1][2], x = g[2], y = g[3] }
  end
  return out
end

-- sl.experiment{...}: read, derive, group, smooth, envelope and fit.
function M.experiment(spec)
  local L = 2 -- error level of the recipe line calling us
  check_fields(spec, EXPERIMENT_FIELDS, "experiment", L)
  local dir = util.caller_dir(2)
  local t, reread = load_data(spec, dir, L)
  if #t == 0 then error("experiment.data: no data rows (a header only?)", L) end
  t = apply_where(t, spec.where, L)
  if #t == 0 then error("experiment.where: no rows left", L) end
  local cname = apply_compute(t, spec.compute, L, reread)
  apply_derive(t, spec.derive, L)
  local x = spec.x or cname
  if x == nil then error("experiment: field 'x' is required (or give 'compute')", L) end
  if spec.y == nil then error("experiment: field 'y' is required (the loss column)", L) end
  need_numbers(t, x, "experiment.x", reread, L)
  need_numbers(t, spec.y, "experiment.y", reread, L)
  if spec.series ~= nil then need_column(t, spec.series, "experiment.series", L) end
  if spec.curve ~= nil then need_column(t, spec.curve, "experiment.curve", L) end
  if spec.labels ~= nil then check_type(spec.labels, "table", "experiment.labels", L) end
  local smooth = smoother(spec.smooth, L)
  local fs = fit_spec(spec.fit, L)
  local env_opts
  if spec.envelope then
    env_opts = spec.envelope == true and {} or spec.envelope
    check_type(env_opts, "table", "experiment.envelope", L)
    check_fields(env_opts, { "grid", "mode" }, "experiment.envelope", L)
  end
  local results = results_path(spec.results, L)

  local self = setmetatable({ name = spec.name, table = t, x = x, y = spec.y,
    series = {}, labels = spec.labels or {} }, Experiment)
  -- Curves stay Columns (x, y) from here to the chart: no Lua arrays.
  for _, sg in ipairs(series_curves(t, spec.series, spec.curve, x, spec.y)) do
    local sname = sg.key
    local s = { name = tostring(sname), label = self.labels[sname] or tostring(sname), curves = {} }
    for _, cg in ipairs(sg.curves) do
      local cx, cy = cg.x, cg.y
      if smooth then
        cy = guarded(L, "experiment.smooth (curve " .. tostring(cg.key) .. ")", smooth, cx, cy)
      end
      s.curves[#s.curves + 1] = { name = tostring(cg.key), x = cx, y = cy }
    end
    local fx, fy
    if env_opts then
      s.envelope, s.excluded = guarded(L, "experiment.envelope (series " .. s.name .. ")",
        core.envelope, s.curves, env_opts)
      fx, fy = s.envelope:column("x"), s.envelope:column("y")
    elseif fs then
      fx, fy = {}, {}
      -- Missing or infinite values (NA, a diverged step) are no data
      -- points, as for the envelope and the smoothers.
      local function finite(v) return v == v and v > -math.huge and v < math.huge end
      for _, c in ipairs(s.curves) do
        local cxs, cys = c.x:totable(), c.y:totable()
        for i = 1, #cxs do
          if finite(cxs[i]) and finite(cys[i]) then
            fx[#fx + 1], fy[#fy + 1] = cxs[i], cys[i]
          end
        end
      end
    end
    if fs then s.fit = do_fit(fs, fx, fy, "experiment.fit (series " .. s.name .. ")", L) end
    self.series[#self.series + 1] = s
  end
  if results then write_results(self, results, L) end
  return self
end

-- exp:get(name) -> the series called name (nil if none)
function Experiment:get(name)
  for _, s in ipairs(self.series) do
    if s.name == name then return s end
  end
  return nil
end

-- exp:fits() -> {series name = fit}
function Experiment:fits()
  local out = {}
  for _, s in ipairs(self.series) do out[s.name] = s.fit end
  return out
end

-- The fitted-law table (as in the MoBA paper's Figure 3(c)) and the
-- crossover of each pair of fitted series, as text.
function Experiment:report()
  local lines = {}
  local title = self.name and (self.name .. ": ") or ""
  lines[#lines + 1] = string.format("%sfitted laws, %s against %s", title, self.y, self.x)
  lines[#lines + 1] = string.format("  %-24s %-28s %8s %6s", "series", "law", "R^2", "points")
  local fitted = {}
  for _, s in ipairs(self.series) do
    if s.fit then
      fitted[#fitted + 1] = s
      local r2 = s.fit.r2
      lines[#lines + 1] = string.format("  %-24s %-28s %8s %6d", s.label, tostring(s.fit),
        r2 and r2 == r2 and string.format("%.4f", r2) or "-", s.fit.n or 0)
    end
  end
  for i = 1, #fitted do
    for j = i + 1, #fitted do
      local a, b = fitted[i], fitted[j]
      local ok, xc = pcall(core.crossover, a.fit, b.fit)
      if ok and xc then
        lines[#lines + 1] = string.format("  %s and %s cross at %s = %.4g (%s = %.4g)",
          a.label, b.label, self.x, xc, self.y, a.fit.predict(xc))
      elseif ok then
        lines[#lines + 1] = string.format("  %s and %s never cross", a.label, b.label)
      end
    end
  end
  return table.concat(lines, "\n")
end

function Experiment:__tostring()
  local parts = {}
  for _, s in ipairs(self.series) do
    parts[#parts + 1] = string.format("%s: %d curves%s", s.label, #s.curves,
      s.fit and (", " .. tostring(s.fit)) or "")
  end
  return string.format("Experiment%s (%d rows; %s)", self.name and (" " .. self.name) or "",
    #self.table, table.concat(parts, "; "))
end

-- Charts ------------------------------------------------------------------

local Chart = {}
Chart.__index = Chart
Chart.__name = "scalelua.ChartSpec"

local CHART_FIELDS = { "data", "title", "x", "y", "style", "layers", "legend",
  "size", "dpi", "font", "output" }
local AXIS_FIELDS = { "label", "log", "min", "max" }
local STYLE_FIELDS = { "color", "width", "dash", "marker", "alpha", "label" }
local LAYER_NAMES = { "curves", "envelope", "projection" }
local LAYER_FIELDS = {
  curves = { "width", "alpha", "dash", "legend" },
  envelope = { "width", "alpha", "dash", "marker", "legend" },
  projection = { "range", "width", "alpha", "dash", "legend", "points" },
}
local LEGEND_POS = { "best", "upper right", "upper left", "lower left", "lower right", "none" }
local DASHES = { "solid", "dashed", "dotted", "dashdot" }

local function one_of(v, list, what, level)
  for _, x in ipairs(list) do
    if v == x then return v end
  end
  local s = type(v) == "string" and util.suggest(v, list)
  error(string.format("%s: '%s' is not one of %s%s", what, tostring(v),
    table.concat(list, ", "), s and string.format(" (did you mean '%s'?)", s) or ""), level + 1)
end

local function check_axis(a, what, level)
  if a == nil then return { log = true } end
  if type(a) == "string" then return { label = a, log = true } end
  check_fields(a, AXIS_FIELDS, what, level + 1)
  if a.label ~= nil then check_type(a.label, "string", what .. ".label", level + 1) end
  for _, k in ipairs({ "min", "max" }) do
    if a[k] ~= nil then
      check_type(a[k], "number", what .. "." .. k, level + 1)
      if a.log ~= false and a[k] <= 0 then
        error(string.format("%s.%s = %g: a log axis needs positive limits", what, k, a[k]), level + 1)
      end
    end
  end
  if a.min and a.max and a.min >= a.max then
    error(string.format("%s: min (%g) must be less than max (%g)", what, a.min, a.max), level + 1)
  end
  return { label = a.label, log = a.log ~= false, min = a.min, max = a.max }
end

local function check_style(st, what, level)
  check_fields(st, STYLE_FIELDS, what, level + 1)
  if st.dash ~= nil then one_of(st.dash, DASHES, what .. ".dash", level + 1) end
  for _, k in ipairs({ "width", "alpha" }) do
    if st[k] ~= nil then check_type(st[k], "number", what .. "." .. k, level + 1) end
  end
  if st.color ~= nil then check_type(st.color, "string|number", what .. ".color", level + 1) end
  if st.label ~= nil then check_type(st.label, "string", what .. ".label", level + 1) end
  return st
end

-- Layers: a list of names, or a map name -> true | {options}.
local function check_layers(layers, what, level)
  if layers == nil then return { curves = {}, projection = {} } end
  check_type(layers, "table", what, level + 1)
  local out = {}
  for k, v in pairs(layers) do
    local name, opts
    if math.type(k) == "integer" then
      name, opts = v, {}
    else
      name, opts = k, v
    end
    one_of(name, LAYER_NAMES, what, level + 1)
    if opts == true then opts = {} end
    if opts ~= false then
      check_type(opts, "table", what .. "." .. name, level + 1)
      check_fields(opts, LAYER_FIELDS[name], what .. "." .. name, level + 1)
      if opts.dash ~= nil then one_of(opts.dash, DASHES, what .. "." .. name .. ".dash", level + 1) end
      if opts.range ~= nil then
        check_type(opts.range, "table", what .. "." .. name .. ".range", level + 1)
      end
      out[name] = opts
    end
  end
  return out
end

local function check_outputs(o, what, level)
  if o == nil then return {} end
  if type(o) == "string" then o = { o } end
  check_type(o, "table", what, level + 1)
  for i, p in ipairs(o) do
    check_type(p, "string", what .. "[" .. i .. "]", level + 1)
    local ext = p:match("%.([%w]+)$")
    ext = ext and ext:lower()
    if ext ~= "png" and ext ~= "svg" and ext ~= "pdf" then
      error(string.format("%s: '%s': unknown format (use .png, .svg or .pdf)", what, p), level + 1)
    end
  end
  return o
end

-- Validate a chart spec; returns the normalised Chart (level: of the caller).
local function new_chart(spec, level)
  check_fields(spec, CHART_FIELDS, "chart", level + 1)
  local exp = spec.data
  if getmetatable(exp) ~= Experiment then
    error("chart: field 'data' must be an experiment (from sl.experiment{...})", level + 1)
  end
  local c = setmetatable({ data = exp }, Chart)
  c.title = spec.title and check_type(spec.title, "string", "chart.title", level + 1)
  c.x = check_axis(spec.x, "chart.x", level + 1)
  c.y = check_axis(spec.y, "chart.y", level + 1)
  c.style = {}
  if spec.style ~= nil then
    check_type(spec.style, "table", "chart.style", level + 1)
    local names = {}
    for _, s in ipairs(exp.series) do names[#names + 1] = s.name end
    for k, st in pairs(spec.style) do
      if not exp:get(k) then
        local s = util.suggest(tostring(k), names)
        error(string.format("chart.style: no series '%s' in the data (series: %s)%s", tostring(k),
          table.concat(names, ", "), s and string.format("; did you mean '%s'?", s) or ""), level + 1)
      end
      c.style[k] = check_style(st, "chart.style." .. k, level + 1)
    end
  end
  c.layers = check_layers(spec.layers, "chart.layers", level + 1)
  if c.layers.projection or c.layers.envelope then
    for _, s in ipairs(exp.series) do
      if c.layers.projection and not s.fit then
        error("chart.layers.projection: series '" .. s.name .. "' has no fit (add fit = \"powerlaw\" to the experiment)", level + 1)
      end
      if c.layers.envelope and not s.envelope then
        error("chart.layers.envelope: series '" .. s.name .. "' has no envelope (add envelope = true to the experiment)", level + 1)
      end
    end
  end
  c.legend = one_of(spec.legend or "best", LEGEND_POS, "chart.legend", level + 1)
  if spec.size ~= nil then
    check_type(spec.size, "table", "chart.size", level + 1)
    if type(spec.size[1]) ~= "number" or type(spec.size[2]) ~= "number" or spec.size[1] <= 0 or spec.size[2] <= 0 then
      error("chart.size: expected {width, height} in inches", level + 1)
    end
  end
  c.size = spec.size
  c.dpi = spec.dpi and check_type(spec.dpi, "number", "chart.dpi", level + 1)
  c.font = spec.font and check_type(spec.font, "number", "chart.font", level + 1)
  c.output = check_outputs(spec.output, "chart.output", level + 1)
  return c
end

local function style_for(c, s, i, overrides)
  local base = c.style[s.name] or {}
  local st = { color = base.color or ("C" .. ((i - 1) % 10)), width = base.width,
    dash = base.dash, alpha = base.alpha, marker = base.marker }
  for k, v in pairs(overrides or {}) do
    if k == "width" or k == "dash" or k == "alpha" or k == "marker" then st[k] = v end
  end
  return st
end

local function legend_text(opt, default, label)
  if opt == false or opt == nil and default == nil then return nil end
  local fmt = opt
  if opt == true or opt == nil then fmt = default end
  return (fmt:gsub("%%s", (label:gsub("%%", "%%%%"))))
end

-- Build the core chart object for this spec.
function Chart:build()
  local ch = core.chart()
  if self.title then ch:title(self.title) end
  local exp = self.data
  ch:axis("x", { log = self.x.log, label = self.x.label or exp.x, min = self.x.min, max = self.x.max })
  ch:axis("y", { log = self.y.log, label = self.y.label or exp.y, min = self.y.min, max = self.y.max })
  ch:legend(self.legend)
  local L = self.layers
  for i, s in ipairs(exp.series) do
    local label = (self.style[s.name] or {}).label or s.label
    if L.curves then
      local st = style_for(self, s, i, L.curves)
      for k, cv in ipairs(s.curves) do
        ch:line(cv.x, cv.y, st, k == 1 and legend_text(L.curves.legend, nil, label) or nil)
      end
    end
    if L.envelope then
      local st = style_for(self, s, i, L.envelope)
      st.marker = st.marker or "circle"
      st.dash = st.dash or "dotted"
      ch:line(s.envelope.x, s.envelope.y, st, legend_text(L.envelope.legend, nil, label))
    end
  end
  for i, s in ipairs(exp.series) do
    local label = (self.style[s.name] or {}).label or s.label
    if L.projection then
      local P = L.projection
      local lo, hi
      if P.range then
        lo, hi = P.range[1], P.range[2]
      else
        lo, hi = self.x.min, self.x.max
        if not (lo and hi) then
          -- The least and greatest positive x of the series' curves, from
          -- each Column's min and max (NaN skipped); a curve that also
          -- holds x <= 0 is scanned for its least positive x.
          for _, cv in ipairs(s.curves) do
            local cmin, cmax = cv.x:min(), cv.x:max()
            if cmax > 0 then
              if cmin <= 0 then
                cmin = nil
                for _, v in ipairs(cv.x:totable()) do
                  if v > 0 and (not cmin or v < cmin) then cmin = v end
                end
              end
              if not self.x.min and (not lo or cmin < lo) then lo = cmin end
              if not self.x.max and (not hi or cmax > hi) then hi = cmax end
            end
          end
        end
      end
      local n = P.points or 200
      local px, py = {}, {}
      for k = 0, n - 1 do
        local t = k / (n - 1)
        local xv = self.x.log and math.exp(math.log(lo) + t * (math.log(hi) - math.log(lo)))
          or lo + t * (hi - lo)
        px[#px + 1], py[#py + 1] = xv, s.fit.predict(xv)
      end
      local st = style_for(self, s, i, P)
      st.dash = st.dash or "dashed"
      ch:line(px, py, st, legend_text(P.legend, "%s Projection", label))
    end
  end
  return ch
end

local function outpath(p)
  local sl = package.loaded["scalelua"]
  local dir = sl and sl.outdir
  return util.join(dir or "", p)
end

-- Render charts (a list of Chart specs) as a grid to every output path.
local function render(charts, fig, outputs, level)
  local built = {}
  for i, c in ipairs(charts) do built[i] = guarded(level + 1, "chart " .. i, c.build, c) end
  local written = {}
  for _, p in ipairs(outputs) do
    local path = outpath(p)
    guarded(level + 1, "render " .. path, core.render, built, fig, path)
    written[#written + 1] = path
  end
  return written
end

-- sl.chart{...}: validate; with `output`, render now.  Returns the chart
-- spec (and the list of files written).
function M.chart(spec)
  local c = new_chart(spec, 2)
  if #c.output > 0 then
    local fig = { width = c.size and c.size[1], height = c.size and c.size[2], dpi = c.dpi,
      font = c.font }
    c.written = render({ c }, fig, c.output, 2)
  end
  return c
end

-- chart:render(path [, {size=, dpi=, font=}]) renders one chart.
function Chart:render(path, opts)
  opts = opts or {}
  local out = check_outputs(path, "render", 2)
  local size = opts.size or self.size
  return render({ self }, { width = size and size[1], height = size and size[2],
    dpi = opts.dpi or self.dpi, font = opts.font or self.font }, out, 2)
end

local FIGURE_FIELDS = { "panels", "rows", "cols", "size", "dpi", "font", "title", "output" }

-- sl.figure{panels = {chart, ...}, cols = 4, size = {w, h}, output = ...}:
-- several charts in a grid, rendered together.
function M.figure(spec)
  check_fields(spec, FIGURE_FIELDS, "figure", 2)
  check_type(spec.panels, "table", "figure.panels", 2)
  local panels = {}
  for i, p in ipairs(spec.panels) do
    if getmetatable(p) ~= Chart then
      if type(p) == "table" then
        p = new_chart(p, 2)
      else
        error("figure.panels[" .. i .. "]: expected a chart", 2)
      end
    end
    panels[i] = p
  end
  if #panels == 0 then error("figure.panels: no panels", 2) end
  local cols = spec.cols or math.ceil(math.sqrt(#panels))
  local rows = spec.rows or math.ceil(#panels / cols)
  if rows * cols < #panels then
    error(string.format("figure: %d x %d grid is too small for %d panels", rows, cols, #panels), 2)
  end
  local outputs = check_outputs(spec.output, "figure.output", 2)
  if #outputs == 0 then error("figure: field 'output' is required", 2) end
  if spec.size ~= nil then check_type(spec.size, "table", "figure.size", 2) end
  local fig = { width = spec.size and spec.size[1], height = spec.size and spec.size[2],
    dpi = spec.dpi, font = spec.font, rows = rows, cols = cols, title = spec.title }
  return render(panels, fig, outputs, 2)
end

M.Experiment = Experiment
M.Chart = Chart
return M
