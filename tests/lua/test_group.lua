-- Grouping in C (t:group_by, core.group_columns), the experiment's fused
-- steps (core.flops_6nd, core.smooth_column, the envelope's Table) and the
-- experiment's curves as Columns, each against a plain-Lua reference.
local T = dofile("tests/lua/testlib.lua")
local sl = require "scalelua"
local core = require "scalelua.core"

-- Exact text of a cell: numbers bit for bit (%a keeps -0 and NaN's sign).
local function exact(v)
  if type(v) == "number" then return string.format("%a", v) end
  return tostring(v)
end

-- A deterministic generator (Lua's own, seeded), as numbers in [0, n).
local function gen(seed)
  math.randomseed(seed)
  return function(n) return math.random(0, n - 1) end
end

local WORDS = { "a", "b", "", "run-1", "run-10", "Run-1", "full", "x y", "NaN", "moba" }
local NUMS = { 0.0, -0.0, 1.5, 0 / 0, -2, math.huge, 1e300, -(0 / 0) }

-- A random Table of n rows in runs of equal rows, columns s (strings), x
-- (numbers with NaN, -0, 0, inf) and y (up to ny distinct numbers).
local function random_table(rand, n, ns, ny)
  local s, x, y = {}, {}, {}
  for r = 1, n do
    if r == 1 or rand(4) == 0 then
      local k = rand(ns) + 1
      s[r] = WORDS[k] or ("s" .. k)
      x[r] = NUMS[rand(#NUMS) + 1]
      y[r] = rand(ny) * 0.25 - 3
    else
      s[r], x[r], y[r] = s[r - 1], x[r - 1], y[r - 1]
    end
  end
  return sl.table { s = s, x = x, y = y }, { s = s, x = x, y = y }
end

-- The groups of the rows of cols (plain arrays) by the key names, the slow
-- way: {key = first row's values, rows = {...}} in order of first
-- appearance; NaN equals NaN, -0 equals 0.
local NAN = {}
local function ref_groups(cols, keys, n)
  local root, out = {}, {}
  for r = 1, n do
    local node = root
    for i, k in ipairs(keys) do
      local v = cols[k][r]
      if v ~= v then v = NAN end
      if v == 0 then v = 0 end
      local nxt = node[v]
      if not nxt then
        nxt = i == #keys and { rows = {}, first = r } or {}
        node[v] = nxt
        if i == #keys then out[#out + 1] = nxt end
      end
      node = nxt
    end
    node.rows[#node.rows + 1] = r
  end
  return out
end

local COMBOS = { { "s" }, { "x" }, { "y" }, { "s", "x" }, { "x", "s" }, { "y", "x", "s" },
  { "s", "s" } }

T.test("group_by matches the reference on random tables", function()
  local rand = gen(11)
  local checked = 0
  for trial = 1, 25 do
    local n = rand(300)
    local t, cols = random_table(rand, n, 2 + rand(30), trial % 3 == 0 and 200 or 4)
    for _, keys in ipairs(COMBOS) do
      local want = ref_groups(cols, keys, n)
      local i = 0
      for key, sub in t:group_by(table.unpack(keys)) do
        i = i + 1
        local w = want[i]
        T.truthy(w, "group " .. i .. " exists")
        if #keys == 1 then
          T.eq(exact(key), exact(cols[keys[1]][w.first]), "key")
        else
          T.eq(type(key), "table")
          for j, k in ipairs(keys) do T.eq(exact(key[j]), exact(cols[k][w.first]), "key " .. j) end
        end
        T.eq(#sub, #w.rows, "rows in group " .. i)
        T.eq(table.concat(sub:names(), ","), "s,x,y")
        for name, arr in pairs(cols) do
          local c = sub[name]
          for j, r in ipairs(w.rows) do
            if exact(c[j]) ~= exact(arr[r]) then
              error(string.format("group %d column %s row %d: %s ~= %s", i, name, j,
                exact(c[j]), exact(arr[r])))
            end
          end
        end
        checked = checked + 1
      end
      T.eq(i, #want, "number of groups by " .. table.concat(keys, ","))
    end
  end
  T.truthy(checked > 500, "groups checked: " .. checked)
end)

T.test("group_by columns option and errors", function()
  local t = sl.read_csv_string("run,method,step,loss\na,m,1,4\nb,f,1,5\na,m,2,3\n")
  local got = {}
  for key, sub in t:group_by("run", { columns = { "loss", "step" } }) do
    T.eq(table.concat(sub:names(), ","), "loss,step")
    got[#got + 1] = key .. ":" .. table.concat(sub.loss:totable(), "/")
  end
  T.eq(table.concat(got, " "), "a:4.0/3.0 b:5.0")
  for _, sub in t:group_by("run", { columns = {} }) do T.eq(sub:ncols(), 0) end
  T.raises(function() t:group_by("run", { columns = { "nope" } }) end,
    "group_by: option 'columns': no column 'nope'")
  T.raises(function() t:group_by("run", { columns = { "loss", "loss" } }) end, "named twice")
  T.raises(function() t:group_by("run", { colums = { "loss" } }) end, "unknown option 'colums'")
  T.raises(function() t:group_by({ columns = { "loss" } }) end, "at least one column")
  T.raises(function() t:group_by("nope") end, "no column 'nope'")
  -- lists of names say whose they are
  T.raises(function() t:group_by("run", { columns = 5 }) end,
    "group_by: option 'columns' must be an array of strings")
  T.raises(function() t:select({ "run", 2 }) end,
    "select: the list of columns[2] must be a string")
  T.raises(function() sl.read_csv_string("a\n1\n", { na = { 1 } }) end,
    "read_csv_string: option 'na'[1] must be a string")
  T.raises(function() core.group_columns(t, { "run" }, { "nope" }) end,
    "group_columns: values: no column 'nope'")
end)

T.test("group_columns: group_by's groups, values as Columns", function()
  local rand = gen(5)
  for _ = 1, 10 do
    local n = 1 + rand(200)
    local t = random_table(rand, n, 12, 6)
    local g = core.group_columns(t, { "s", "y" }, { "x", "y", "x" })
    local i = 0
    for key, sub in t:group_by("s", "y") do
      i = i + 1
      local e = g[i]
      T.eq(exact(e[1][1]), exact(key[1]))
      T.eq(exact(e[1][2]), exact(key[2]))
      T.eq(getmetatable(e[2]).__name, "scalelua.Column")
      T.eq(e[2]:name(), "x")
      T.eq(e[3]:name(), "y")
      for j = 1, #sub do
        T.eq(exact(e[2][j]), exact(sub.x[j]))
        T.eq(exact(e[3][j]), exact(sub.y[j]))
        T.eq(exact(e[4][j]), exact(sub.x[j]))
      end
      T.eq(#e[2], #sub)
    end
    T.eq(#g, i)
  end
  local t = sl.table { a = { 1, 2 } }
  T.raises(function() core.group_columns(t, { "b" }, { "a" }) end, "no column 'b'")
  T.raises(function() core.group_columns(t, {}, { "a" }) end, "1 to 64 key columns")
end)

T.test("flops_6nd is the Column expression bit for bit", function()
  local rand = gen(3)
  local N, D = {}, {}
  for i = 1, 500 do
    N[i] = (1 + rand(1000)) * 1.37e6 + rand(7) / 3
    D[i] = (1 + rand(100000)) * 1048576.1
  end
  N[7], D[9] = 0 / 0, math.huge
  local t = sl.table { params = N, tokens = D }
  local want = 6 * t.params * t.tokens / 8.64e19
  core.flops_6nd(t, "params", "tokens", "compute", 8.64e19)
  T.eq(#t.compute, 500)
  for i = 1, 500 do T.eq(exact(t.compute[i]), exact(want[i]), "row " .. i) end
  local raw = 6 * t.params * t.tokens
  core.flops_6nd(t, "params", "tokens", "flops")
  for i = 1, 500 do T.eq(exact(t.flops[i]), exact(raw[i])) end
  -- The result may replace an input column.
  core.flops_6nd(t, "params", "tokens", "params", 2)
  for i = 1, 500 do T.eq(exact(t.params[i]), exact(raw[i] / 2)) end
  T.eq(table.concat(t:names(), ","), "params,tokens,compute,flops")
  local s = sl.table { p = { "a" }, q = { 1 } }
  T.raises(function() core.flops_6nd(s, "p", "q", "c") end, "holds strings")
  T.raises(function() core.flops_6nd(s, "nope", "q", "c") end, "no column 'nope'")
end)

T.test("smooth_column is smooth as a Column", function()
  local y, x = {}, {}
  for i = 1, 60 do y[i], x[i] = 3 / i + (i % 5) * 0.01, i * 1.5 end
  y[10] = 0 / 0
  local col = sl.column(y, "loss")
  for _, case in ipairs({ { "ema", 0.3 }, { "trailing", 4 }, { "proportional", 0.2, x } }) do
    local a = core.smooth(case[1], y, case[2], case[3])
    local c = core.smooth_column(case[1], col, case[2], case[3] and sl.column(case[3]))
    T.eq(getmetatable(c).__name, "scalelua.Column")
    T.eq(c:name(), "loss")
    T.eq(#c, #a)
    for i = 1, #a do T.eq(exact(c[i]), exact(a[i]), case[1] .. " " .. i) end
  end
  T.eq(core.smooth_column("ema", y, 0.5):name(), "value")
  T.raises(function() core.smooth_column("median", y, 3) end, "want \"ema\"")
  T.raises(function() core.smooth_column("trailing", y, 0) end, "window must be at least 1")
end)

T.test("envelope result: x, y and the curve names (or indices)", function()
  local curves = {
    { x = { 1, 2, 4 }, y = { 4, 3, 2.5 }, name = "slow" },
    { x = sl.column({ 2, 4, 8 }), y = sl.column({ 3.5, 2, 1.5 }) },
  }
  local e, excluded = core.envelope(curves, { mode = "points" })
  T.eq(table.concat(e:names(), ","), "x,y,curve")
  T.eq(excluded, 0)
  T.eq(table.concat(e.x:totable(), " "), "1.0 2.0 4.0 8.0")
  T.eq(table.concat(e.y:totable(), " "), "4.0 3.0 2.0 1.5")
  T.eq(table.concat(e.curve:totable(), " "), "slow slow 2 2")
  local g = core.envelope(curves, { grid = 5 })
  T.eq(#g, 5)
  T.eq(g.x[1], 1)
  T.eq(g.x[5], 8)
end)

-- The experiment before curves became Columns, written out in plain Lua:
-- Lua-table grouping and arrays, then core.envelope and the fit.
local function reference_experiment(t, series, curve, x, y)
  local cols = {}
  for _, k in ipairs(t:names()) do cols[k] = t[k]:totable() end
  local out = {}
  local sgroups = ref_groups(cols, { series }, #t)
  for _, sg in ipairs(sgroups) do
    local sub = {}
    for k, arr in pairs(cols) do
      sub[k] = {}
      for j, r in ipairs(sg.rows) do sub[k][j] = arr[r] end
    end
    local s = { name = tostring(cols[series][sg.first]), curves = {} }
    for _, cg in ipairs(ref_groups(sub, { curve }, #sg.rows)) do
      local cx, cy = {}, {}
      for j, r in ipairs(cg.rows) do cx[j], cy[j] = sub[x][r], sub[y][r] end
      s.curves[#s.curves + 1] = { name = tostring(sub[curve][cg.first]), x = cx, y = cy }
    end
    s.envelope, s.excluded = core.envelope(s.curves)
    s.fit = core.fit_powerlaw(s.envelope.x:totable(), s.envelope.y:totable())
    out[#out + 1] = s
  end
  return out
end

T.test("experiment: curves are Columns, results as the Lua reference", function()
  local path = "examples/moba/data/trailing_32k.csv"
  local e = sl.experiment { data = "../../" .. path, compute = { params = "params", tokens = "tokens" },
    y = "trailing_loss", series = "method", curve = "run", envelope = true, fit = "powerlaw" }
  local t = sl.read_csv(path)
  t.compute = 6 * t.params * t.tokens / 8.64e19
  local ref = reference_experiment(t, "method", "run", "compute", "trailing_loss")
  T.eq(#e.series, #ref)
  for i, s in ipairs(e.series) do
    local r = ref[i]
    T.eq(s.name, r.name)
    T.eq(#s.curves, #r.curves)
    for k, cv in ipairs(s.curves) do
      T.eq(getmetatable(cv.x).__name, "scalelua.Column")
      T.eq(cv.name, r.curves[k].name)
      T.eq(#cv.x, #r.curves[k].x)
      T.eq(#cv.y, #r.curves[k].y)
      for j = 1, #cv.x, 97 do
        T.eq(exact(cv.x[j]), exact(r.curves[k].x[j]))
        T.eq(exact(cv.y[j]), exact(r.curves[k].y[j]))
      end
      T.eq(exact(cv.x[#cv.x]), exact(r.curves[k].x[#cv.x]))
    end
    T.eq(#s.envelope, #r.envelope)
    for j = 1, #s.envelope do
      T.eq(exact(s.envelope.x[j]), exact(r.envelope.x[j]))
      T.eq(exact(s.envelope.y[j]), exact(r.envelope.y[j]))
      T.eq(s.envelope.curve[j], r.envelope.curve[j])
    end
    T.eq(s.excluded, r.excluded)
    T.eq(exact(s.fit.a), exact(r.fit.a))
    T.eq(exact(s.fit.b), exact(r.fit.b))
  end
end)

T.test("experiment: NaN and -0 keys, interleaved runs, no series or curve", function()
  local csv = "g,c,x,y\n" ..
    "0,1,1,4\nNaN,2,1,5\n-0,1,2,3\n2.5,NaN,1,6\nNaN,2,2,4\n0,3,4,2\n2.5,NaN,3,5\n"
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(csv)
  f:close()
  local e = sl.experiment { data = path, x = "x", y = "y", series = "g", curve = "c" }
  local names = {}
  for _, s in ipairs(e.series) do
    local cs = {}
    for _, c in ipairs(s.curves) do cs[#cs + 1] = c.name .. "=" .. table.concat(c.y:totable(), "/") end
    names[#names + 1] = s.name .. "[" .. table.concat(cs, " ") .. "]"
  end
  -- series 0 holds the -0 row; NaN is one series, and one curve
  T.eq(table.concat(names, " "):gsub("%-nan", "nan"),
    "0.0[1.0=4.0/3.0 3.0=2.0] nan[2.0=5.0/4.0] 2.5[nan=6.0/5.0]")
  local one = sl.experiment { data = path, x = "x", y = "y", curve = "c" }
  T.eq(#one.series, 1)
  T.eq(one.series[1].name, "all")
  T.eq(#one.series[1].curves, 4)
  local each = sl.experiment { data = path, x = "x", y = "y", series = "g" }
  T.eq(#each.series, 3)
  T.eq(each.series[1].curves[1].name, "all")
  T.eq(table.concat(each.series[1].curves[1].x:totable(), ","), "1.0,2.0,4.0")
  local all = sl.experiment { data = path, x = "x", y = "y" }
  T.eq(#all.series[1].curves[1].x, 7)
  os.remove(path)
end)

-- The x range of the projection as Chart:build used to find it: the least
-- and greatest positive x over every point of the series' curves.
local function ref_range(s)
  local lo, hi
  for _, cv in ipairs(s.curves) do
    for i = 1, #cv.x do
      local v = cv.x[i]
      if v > 0 then
        if not lo or v < lo then lo = v end
        if not hi or v > hi then hi = v end
      end
    end
  end
  return lo, hi
end

T.test("Chart:build: projection range from Column min/max, curves as Columns", function()
  local csv = "run,x,y\n" ..
    "a,-1,5\na,0.5,4\na,2,3\nb,NaN,4.5\nb,1,3.5\nb,8,2\nc,-3,6\nc,-2,5\n"
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(csv)
  f:close()
  local e = sl.experiment { data = path, x = "x", y = "y", curve = "run", envelope = true,
    fit = "powerlaw" }
  os.remove(path)
  local lo, hi = ref_range(e.series[1])
  T.eq(lo, 0.5)
  T.eq(hi, 8)
  -- Record what Chart:build hands to ch:line.
  local calls = {}
  local mt = getmetatable(core.chart())
  local line = mt.__index.line
  mt.__index.line = function(ch, x, y, st, leg)
    calls[#calls + 1] = { x = x, y = y, legend = leg }
    return line(ch, x, y, st, leg)
  end
  local ok, err = pcall(function()
    sl.chart { data = e, x = { log = false }, layers = { curves = {}, projection = { points = 5 } } }:build()
  end)
  mt.__index.line = line
  T.truthy(ok, err)
  T.eq(#calls, 4) -- three curves and the projection
  T.eq(calls[1].x, e.series[1].curves[1].x) -- the Column itself, not a copy
  local px = calls[4].x
  T.eq(px[1], lo)
  T.eq(px[5], hi)
  T.near(px[3], (lo + hi) / 2)
  T.eq(calls[4].legend, "all Projection")
end)

T.test("experiment reads only the columns it uses, when nothing else can", function()
  local data = "../../examples/moba/data/trailing_32k.csv"
  local base = { data = data, compute = { params = "params", tokens = "tokens" },
    y = "trailing_loss", series = "method", curve = "run", envelope = true, fit = "powerlaw" }
  local function with(extra)
    local r = {}
    for k, v in pairs(base) do r[k] = v end
    for k, v in pairs(extra) do r[k] = v end
    for k, v in pairs(r) do if v == "none" then r[k] = nil end end
    return r
  end
  local function names(e) return table.concat(e.table:names(), ",") end
  local e = sl.experiment(base)
  T.eq(names(e), "method,run,trailing_loss,params,tokens,compute")
  local full = "run,method,params,layers,heads,hidden,step,tokens,lr,lm_loss,trailing_loss,compute"
  -- User functions may read any column: all are read.
  T.eq(names(sl.experiment(with { derive = { z = function(t) return t.lr * 0 end } })),
    full .. ",z")
  T.eq(names(sl.experiment(with { where = function(r) return r.step > 0 end })), full)
  T.eq(names(sl.experiment(with { compute = { flops = function(N, D) return 6 * N * D end } })),
    full)
  T.eq(names(sl.experiment(with { read = { columns = { "run", "method", "params", "tokens",
    "trailing_loss", "lr" } } })), "run,method,params,tokens,trailing_loss,lr,compute")
  T.eq(names(sl.experiment(with { where = { lr = 1.68e-05 }, fit = "none", envelope = "none" })),
    "method,run,trailing_loss,params,tokens,lr,compute")
  T.eq(names(sl.experiment(with { x = "step", compute = "none", fit = "none", envelope = "none" })),
    "method,run,step,trailing_loss")
  -- A Table as the data: a copy of those columns, or of all of them.
  local t = sl.read_csv(base.data:sub(7))
  T.eq(names(sl.experiment(with { data = t })), "method,run,trailing_loss,params,tokens,compute")
  T.eq(names(sl.experiment(with { data = t, derive = { z = function(u) return u.lr * 0 end } })),
    full .. ",z")
  T.eq(t:ncols(), 11)
  T.raises(function() sl.experiment(with { data = t, curve = "rn" }) end,
    "experiment.curve: no column 'rn' (did you mean 'run'?)")
  -- The same results either way.
  local f = sl.experiment(with { derive = { z = function(t) return t.lr * 0 end } })
  for i, s in ipairs(e.series) do
    T.eq(exact(s.fit.a), exact(f.series[i].fit.a))
    T.eq(exact(s.fit.b), exact(f.series[i].fit.b))
    T.eq(#s.envelope, #f.series[i].envelope)
  end
  -- A column the data lacks: the message of the full read, as before.
  T.raises(function() sl.experiment(with { series = "methd" }) end,
    "experiment.series: no column 'methd' (did you mean 'method'?)")
  T.raises(function() sl.experiment(with { where = { nope = 1 } }) end,
    "experiment.where: no column 'nope'")
end)

os.exit(T.done("test_group"))
