-- scalelua.help: documentation of the public functions and methods, and
-- the REPL's tab completion.
--   help()                  lists everything
--   help(sl.fit.powerlaw)   one entry (also help("fit.powerlaw"))
--   help(t), help("Table")  a kind of object and its methods
local M = {}

-- Entries: "name" for sl.name, "Kind:method" for methods.  The first line
-- is the call, the rest says what it does.
M.docs = {
  -- tables and CSV
  read_csv = [[sl.read_csv(path | {paths}, opts) -> Table
Reads CSV into a typed Table (numbers or strings per column). path may be a
file, a glob ("logs/*.csv": rows concatenated, a 'file' column added) or "-".
opts: delimiter, quote, header (true), columns (keep only these), types
({col = "number"|"string"}), na (markers read as missing), max_field,
threads, file_column. Errors name file:line:column and the column.]],
  read_csv_string = [[sl.read_csv_string(text, opts, name) -> Table
Reads CSV held in a string; name is used in error messages.]],
  csv_records = [[sl.csv_records(path, opts) -> iterator
Iterates over the records of a CSV file as arrays of strings, the header
first: for rec in sl.csv_records("runs.csv") do ... end]],
  table = [[sl.table{name = Column | array, ...} -> Table
Builds a Table from columns (all of one length); array-part names first,
else columns in sorted order.]],
  column = [[sl.column(array, name) -> Column
A Column from an array of numbers or strings.]],
  write_csv = [[sl.write_csv(t, path) -> path     (also t:write_csv(path))
Writes Table t as CSV: header row, RFC 4180 quoting, numbers with the
fewest digits that read back exactly (NaN as an empty field), written to a
temporary file and renamed into place. "-" writes to standard output.]],
  -- JSON
  to_json = [[sl.to_json(value, {indent = 0}) -> string
JSON text of a value tree: tables with keys 1..n become arrays, others
objects (keys sorted), Tables objects of columns, Columns arrays, fits their
fields; functions in objects are left out; NaN and infinities are null.
Numbers round-trip exactly. A metafield __tojson(v) supplies a replacement
value, __jsontype = "array"|"object" settles empty tables.]],
  write_json = [[sl.write_json(path, value, {indent = 2}) -> path
Writes sl.to_json(value) to path atomically (temporary file + rename).
sl.write_json("results.json", exp) writes an experiment's results.]],
  from_json = [[sl.from_json(text, {null = v, name = "file.json"}) -> value
Parses JSON (cJSON) into Lua tables; null becomes nil (or opts.null);
integral numbers become integers. Errors give name:line:column.]],
  -- compute
  flops_6nd = [[sl.flops_6nd(params, tokens) -> flops
Training FLOPs by the 6ND convention: 6 * N * D (numbers or Columns).]],
  pflops_days = [[sl.pflops_days(flops) -> PFLOP/s-days
flops / 8.64e19 (1 PFLOP/s-day = 1e15 FLOP/s for 86,400 s).]],
  PFLOPS_DAY = [[sl.PFLOPS_DAY = 8.64e19
FLOPs in one PFLOP/s-day.]],
  here = [[sl.here(path) -> path
path relative to the directory of the calling recipe (absolute paths
unchanged), so a recipe finds its data from any working directory.]],
  version = [[sl.version
The library version, e.g. "0.1.0".]],
  outdir = [[sl.outdir
Directory that recipes write figures and results into (nil: the current
directory); `scalelua --outdir DIR` sets it.]],
  -- envelopes and smoothing
  envelope = [[sl.envelope(curves | Table, opts) -> Table {x, y, curve}, excluded
Lower envelope of training curves in log-log space (the compute frontier).
curves: a list of {x=, y=, name=}; or a Table with opts.x, opts.y and
opts.by (the curve column). opts: grid (1500 log-spaced points) or
mode = "points" (every distinct x). Points with x <= 0, y <= 0 or NaN are
dropped and counted in `excluded`.]],
  ["smooth.ema"] = [[sl.smooth.ema(y, alpha) -> array
Bias-corrected exponential moving average; alpha in (0, 1] weights the new
value. NaN values are missing.]],
  ["smooth.trailing"] = [[sl.smooth.trailing(y, window) -> array
Mean of the last `window` points (fewer at the start).]],
  ["smooth.proportional"] = [[sl.smooth.proportional(x, y, frac) -> array
Mean of the points whose x lies within x[i] * (1 +- frac); x increasing.]],
  -- fits
  ["fit.powerlaw"] = [[sl.fit.powerlaw(x, y, opts) -> fit
Fits y = a * x^b. opts.method = "log" (default: least squares on
(log x, log y), closed form) or "nls" (Levenberg-Marquardt on y); weights,
start, bootstrap (resamples), seed, level (0.95) for fit.ci.
fit: a, b, stderr {a, b}, rss, r2, n, iterations, converged, reason,
predict(x) (number, array or Column); tostring(fit) is "L = a x C^b".]],
  ["fit.saturating"] = [[sl.fit.saturating(x, y, opts) -> fit
Fits y = E + a * x^b (an irreducible loss E) by Levenberg-Marquardt from a
grid of starts. opts: lower, upper ({E = 0}), start, weights, bootstrap.
fit: E, a, b, stderr, rss, r2, predict.]],
  ["fit.nls"] = [[sl.fit.nls{model = function(p, x) ... end, x =, y =, start = {...}} -> fit
General nonlinear least squares (MINPACK). x: one predictor (Column or
array) or an array of them; optional jacobian = function(p, x) -> {d...};
lower, upper, max_iter, tol, bootstrap. fit: params, stderr, rss,
iterations, converged, predict.]],
  ["fit.linear"] = [[sl.fit.linear{X = {col, ...} | col, y =, intercept = true} -> fit
Linear least squares by Householder QR. fit: coef, stderr, rss, r2,
intercept, predict.]],
  ["fit.poly"] = [[sl.fit.poly(x, y, degree, opts) -> fit
Polynomial least squares (coef c0..c_degree) by QR.]],
  ["fit.chinchilla"] = [[sl.fit.chinchilla{N =, D =, loss =, delta = 1e-3} -> fit
Hoffmann et al. Approach 3: L(N, D) = E + A/N^alpha + B/D^beta, Huber loss
on log L, L-BFGS from 4,500 starts. fit: E, A, B, alpha, beta, a, b
(compute-optimal exponents), predict(N, D).]],
  crossover = [[sl.crossover(f, g) -> x | nil
The x > 0 where two fitted one-predictor laws meet, or nil if they never
do (e.g. parallel power laws).]],
  compute_ratio = [[sl.compute_ratio(f, g, y) -> ratio
x_f(y) / x_g(y): how much more compute law f needs than law g to reach
loss y.]],
  -- recipes
  experiment = [[sl.experiment{data=, compute=, y=, series=, curve=, envelope=, fit=, ...} -> Experiment
Reads, derives, groups, smooths, takes envelopes and fits, validating
every field first (errors point at the recipe line). Fields: name, data
(path, glob, list or Table), read (read_csv opts), where ({col = value} or
function(t)), compute {params, tokens, flops = "6ND" | function(N, D, t),
unit = "pflops_days" | "flops", name = "compute"}, derive {name =
function(t)}, x (default: the compute column), y, series, curve, smooth
{ema= | trailing= | proportional=}, envelope (true | {grid=, mode=}), fit
("powerlaw" | "saturating" | {law=, range = {lo, hi}, method=, bootstrap=,
seed=, level=, start=, lower=, upper=, weights=, max_iter=, tol=}), labels
{series = "Label"}, results ("file.json": laws, envelopes, crossovers).
Without user functions (where, derive, flops) only the columns the recipe
names are read (exp.table holds those).]],
  chart = [[sl.chart{data = exp, x = {...}, y = {...}, layers =, style =, output =} -> chart
One log-log panel of an experiment. Fields: data, title, x and y ({label=,
log = true, min=, max=} or a label), style {series = {color=, width=,
dash=, marker=, alpha=, label=}}, layers ({"curves", "envelope",
"projection"} or {projection = {range=, legend = "%s Projection",
points=, dash=}}), legend ("best", "upper right", "upper left",
"lower left", "lower right", "none"), size {w, h} inches, dpi, font,
output ("fig.png" | {"fig.png", "fig.svg", "fig.pdf"}).]],
  figure = [[sl.figure{panels = {chart, ...}, rows=, cols=, size=, dpi=, font=, title=, output=} -> files
Several charts (chart specs or their tables) in a grid, rendered together.]],
  help = [[sl.help(what) / help(what)
This help: help() lists everything, help(f) documents f.]],

  -- Table methods
  ["Table:nrows"] = "t:nrows() -> n   (also #t)\nNumber of rows.",
  ["Table:ncols"] = "t:ncols() -> n\nNumber of columns.",
  ["Table:names"] = "t:names() -> {name, ...}\nColumn names in order.",
  ["Table:types"] = "t:types() -> {name = \"number\"|\"string\"}\nColumn types.",
  ["Table:column"] = "t:column(name | index) -> Column   (also t.name)\nA copy of one column.",
  ["Table:row"] = "t:row(i) -> {col = value, ...}\nRow i as a Lua table.",
  ["Table:rows"] = "t:rows() -> iterator of i, row\nfor i, r in t:rows() do ... end",
  ["Table:head"] = "t:head(n = 10) -> Table\nThe first n rows.",
  ["Table:tail"] = "t:tail(n = 10) -> Table\nThe last n rows.",
  ["Table:where"] = [[t:where(col, value | {v1, v2, ...}) -> Table
t:where(function(row) ... end) -> Table
Rows whose column equals the value (one of the values), or where the
predicate is true.]],
  ["Table:sort"] = "t:sort(col, desc) -> Table\nSorted by col (stable, NaN last).",
  ["Table:select"] = "t:select(col, ...) | t:select{cols} -> Table\nThose columns, in that order.",
  ["Table:group_by"] = [[t:group_by(col, ... [, {columns = {names}}]) -> iterator of key, subtable
Groups of equal values (NaN is one value, -0 is 0) in order of first
appearance, rows in table order; with several columns the key is an array
of their values; `columns`: the subtables hold only those columns.
for run, r in t:group_by("run") do ... end]],
  ["Table:copy"] = "t:copy() -> Table\nAn independent copy.",
  ["Table:append"] = "t:append(other)\nAdds other's rows (same columns) in place.",
  ["Table:set"] = [[t:set(name, value)   (also t.name = value)
Adds or replaces a column: a Column, an array or a scalar (broadcast);
nil removes it.]],
  ["Table:write_csv"] = "t:write_csv(path) -> path\nSee sl.write_csv.",
  -- Column methods
  ["Column:totable"] = "c:totable() -> array\nThe values as a Lua array.",
  ["Column:min"] = "c:min() -> number\nLeast non-NaN value.",
  ["Column:max"] = "c:max() -> number\nGreatest non-NaN value.",
  ["Column:sum"] = "c:sum() -> number\nSum of the non-NaN values.",
  ["Column:mean"] = "c:mean() -> number\nMean of the non-NaN values.",
  ["Column:name"] = "c:name() -> string\nThe column's name.",
  ["Column:type"] = "c:type() -> \"number\"|\"string\"",
  ["Column:unique"] = "c:unique() -> array\nDistinct values in order of first appearance.",
  ["Column:log10"] = "c:log10() -> Column\nElementwise log10 (also log, exp; + - * / ^ work on Columns).",
  ["Column:log"] = "c:log() -> Column\nElementwise natural logarithm.",
  ["Column:exp"] = "c:exp() -> Column\nElementwise exponential.",
  -- Experiment and chart methods
  ["Experiment:report"] = "exp:report() -> string\nThe fitted laws (R^2, points) and the crossover of each pair.",
  ["Experiment:get"] = "exp:get(name) -> series | nil\nA series {name, label, curves, envelope, fit}.",
  ["Experiment:fits"] = "exp:fits() -> {series name = fit}",
  ["Experiment:results"] = [[exp:results() -> {x, y, series, crossovers}
The fitted laws, envelope points and crossovers as plain data, what
results = "file.json" writes (and sl.to_json(exp) encodes).]],
  ["Chart:render"] = "chart:render(path | {paths}, {size=, dpi=, font=}) -> files\nRenders one chart spec.",
}

-- Overviews of the kinds of objects, for help(obj) and help("Table").
M.kinds = {
  Table = "Table: named columns of numbers or strings (sl.read_csv, sl.table).\n"
    .. "t.name is a column, #t the number of rows. Methods:",
  Column = "Column: one column (t.loss); arithmetic runs in C. Methods:",
  Experiment = "Experiment: the result of sl.experiment{...}; exp.series[i] has name, label,\n"
    .. "curves, envelope, fit. Methods:",
  Chart = "Chart spec: the result of sl.chart{...}. Methods:",
}

local function sl_module() return package.loaded["scalelua"] end

-- The metatables of Table and Column, taken from a small Table (not from
-- the registry: `scalelua --safe` leaves no debug.getregistry).
local object_mts
local function object_metatables()
  if not object_mts then
    local t = require("scalelua.core").read_csv_string("a\n1")
    object_mts = { Table = getmetatable(t), Column = getmetatable(t.a) }
  end
  return object_mts
end

-- The methods table of each kind of object.
local function method_tables()
  local out = {}
  for kind, mt in pairs(object_metatables()) do
    out[kind] = type(mt) == "table" and rawget(mt, "__methods") or {}
  end
  local ok, recipe = pcall(require, "scalelua.recipe")
  if ok then
    out.Experiment, out.Chart = recipe.Experiment, recipe.Chart
  end
  return out
end

-- The kind of an object value (Table, Column, Experiment, Chart), if any.
local function kind_of(v)
  local mt = getmetatable(v)
  local name = type(mt) == "table" and rawget(mt, "__name")
  if name == "scalelua.Table" then return "Table" end
  if name == "scalelua.Column" then return "Column" end
  if name == "scalelua.Experiment" then return "Experiment" end
  if name == "scalelua.ChartSpec" then return "Chart" end
  return nil
end

-- The value at dotted path `name` under sl (nil if absent).
local function lookup(sl, name)
  local v = sl
  for part in name:gmatch("[^.]+") do
    if type(v) ~= "table" then return nil end
    v = v[part]
  end
  return v
end

-- The doc key of function f, searching sl and the method tables.
local function key_of(sl, f)
  local mts = method_tables()
  for k in pairs(M.docs) do
    local kind, meth = k:match("^(%u%w*):(.+)$")
    if kind then
      if mts[kind] and rawget(mts[kind], meth) == f then return k end
    elseif lookup(sl, k) == f then
      return k
    end
  end
  return nil
end

local function kind_help(kind)
  local names = {}
  for k in pairs(M.docs) do
    local kd, meth = k:match("^(%u%w*):(.+)$")
    if kd == kind then names[#names + 1] = meth end
  end
  table.sort(names)
  local out = { M.kinds[kind] }
  for _, m in ipairs(names) do
    out[#out + 1] = "  " .. (M.docs[kind .. ":" .. m]:match("^[^\n]*"))
  end
  return table.concat(out, "\n")
end

-- The text help(what) prints (nil: nothing known).
function M.text(sl, what)
  sl = sl or sl_module()
  if what == nil then
    local names, methods = {}, {}
    for k in pairs(M.docs) do
      if k:find(":", 1, true) then methods[#methods + 1] = k else names[#names + 1] = k end
    end
    table.sort(names)
    table.sort(methods)
    local out = { "scalelua " .. tostring(sl and sl.version) .. ": help(name) for one of:" }
    for _, k in ipairs(names) do out[#out + 1] = "  sl." .. k end
    out[#out + 1] = "Methods (help(\"Table\"), help(t.group_by)):"
    local line = " "
    for _, k in ipairs(methods) do
      if #line + #k + 1 > 78 then out[#out + 1] = line; line = " " end
      line = line .. " " .. k
    end
    out[#out + 1] = line
    return table.concat(out, "\n")
  end
  if type(what) == "string" then
    local key = what:gsub("^sl%.", ""):gsub("^t:", "Table:")
    if M.kinds[key] then return kind_help(key) end
    return M.docs[key]
  end
  local kind = kind_of(what)
  if kind then return kind_help(kind) end
  if type(what) == "table" and getmetatable(what)
      and rawget(getmetatable(what), "__name") == "scalelua.Fit" then
    return M.docs["fit." .. tostring(what.kind)] or M.docs["fit.powerlaw"]
  end
  local key = key_of(sl, what)
  return key and M.docs[key]
end

-- help() lists everything; help(f) or help("name") prints one entry.
function M.help(sl, what)
  print(M.text(sl, what) or ("no help for " .. tostring(what)))
end

-- Completion ----------------------------------------------------------------

local KEYWORDS = { "and", "break", "do", "else", "elseif", "end", "false", "for",
  "function", "goto", "if", "in", "local", "nil", "not", "or", "repeat", "return",
  "then", "true", "until", "while" }

-- Add the identifier keys of table t (and of its __index tables) to set.
local function add_keys(set, t, only_functions, depth)
  depth = depth or 0
  if type(t) ~= "table" or depth > 4 then return end
  for k, v in next, t do
    if type(k) == "string" and k:match("^[%a_][%w_]*$")
        and (not only_functions or type(v) == "function") then
      set[k] = true
    end
  end
  local mt = getmetatable(t)
  if type(mt) == "table" and type(rawget(mt, "__index")) == "table" then
    add_keys(set, rawget(mt, "__index"), only_functions, depth + 1)
  end
end

--[[
  M.complete(word) -> sorted list of completions of word, each the whole
  word: "sl.fi" -> {"sl.fit"}, "t:gr" -> {"t:group_by"}, "t.lo" ->
  {"t.loss"} (columns).  Only plain name paths are evaluated (no calls).
]]
function M.complete(word, env)
  env = env or _G
  local base, sep, partial = word:match("^(.-)([.:]?)([%a_]?[%w_]*)$")
  if not base then return {} end
  if sep == "" and base ~= "" then return {} end
  local set = {}
  if base == "" then
    add_keys(set, env)
    for _, k in ipairs(KEYWORDS) do set[k] = true end
  else
    if not base:match("^[%a_][%w_]*$") and not base:match("^[%a_][%w_]*[.%w_]*[%w_]$") then
      return {}
    end
    local ok, v = pcall(function()
      local cur = env
      for part in base:gmatch("[^.]+") do
        if not part:match("^[%a_][%w_]*$") then return nil end
        cur = cur[part]
        if cur == nil then return nil end
      end
      return cur
    end)
    if not ok or v == nil then return {} end
    local kind = kind_of(v)
    local mts = method_tables()
    if kind and mts[kind] then
      add_keys(set, mts[kind], sep == ":")
      if kind == "Table" and sep == "." then
        local okn, names = pcall(v.names, v)
        if okn then
          for _, n in ipairs(names) do
            if n:match("^[%a_][%w_]*$") then set[n] = true end
          end
        end
      end
      if kind == "Experiment" and sep == "." then add_keys(set, v) end
    elseif type(v) == "string" and sep == ":" then
      add_keys(set, string, true)
    elseif type(v) == "table" then
      add_keys(set, v, sep == ":")
      if v == sl_module() and sep == "." then
        -- fields the module loads on first use (experiment, chart, ...)
        for k in pairs(M.docs) do
          if k:match("^[%a_][%w_]*$") then set[k] = true end
        end
      end
    end
  end
  local out = {}
  for k in pairs(set) do
    if k:sub(1, #partial) == partial then out[#out + 1] = base .. sep .. k end
  end
  table.sort(out)
  return out
end

return M
