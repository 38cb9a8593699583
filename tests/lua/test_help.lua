-- help() documents every public function and method, finds entries from
-- the function values, and the REPL's completion (scalelua.help.complete)
-- offers globals, fields, lazily loaded fields, Table methods and
-- columns, Column methods and string methods.
local T = dofile("tests/lua/testlib.lua")
local sl = require "scalelua"
local H = require "scalelua.help"

-- Every function reachable from sl (two levels) has an entry.
T.test("every public function is documented", function()
  local missing = {}
  local function walk(t, prefix, depth)
    for k, v in pairs(t) do
      local name = prefix .. k
      if type(v) == "function" then
        if not H.text(sl, v) then missing[#missing + 1] = name end
      elseif type(v) == "table" and depth < 2 and getmetatable(v) == nil then
        walk(v, name .. ".", depth + 1)
      end
    end
  end
  -- the lazily loaded recipe functions too
  local _ = sl.experiment
  walk(sl, "sl.", 1)
  table.sort(missing)
  T.eq(table.concat(missing, ", "), "", "undocumented")
end)

T.test("every method is documented", function()
  local reg = debug.getregistry()
  local recipe = require "scalelua.recipe"
  local kinds = { Table = reg["scalelua.Table"].__methods, Column = reg["scalelua.Column"].__methods,
    Experiment = recipe.Experiment, Chart = recipe.Chart }
  local missing = {}
  for kind, methods in pairs(kinds) do
    for k, v in pairs(methods) do
      if type(v) == "function" and not k:match("^__") and k ~= "build"
          and not H.docs[kind .. ":" .. k] then
        missing[#missing + 1] = kind .. ":" .. k
      end
    end
  end
  table.sort(missing)
  T.eq(table.concat(missing, ", "), "", "undocumented methods")
end)

T.test("help finds entries by value and by name", function()
  T.truthy(H.text(sl, sl.fit.powerlaw):find("^sl%.fit%.powerlaw%(x, y, opts%) %-> fit\nFits y = a %* x%^b"),
    H.text(sl, sl.fit.powerlaw))
  T.eq(H.text(sl, "fit.powerlaw"), H.text(sl, sl.fit.powerlaw))
  T.eq(H.text(sl, "sl.read_csv"), H.docs.read_csv)
  local t = sl.table { loss = { 1, 2 } }
  T.truthy(H.text(sl, t.group_by):find("^t:group_by"), "method by value")
  T.truthy(H.text(sl, t):find("^Table: "), "a Table value")
  T.truthy(H.text(sl, t):find("t:where(col", 1, true), "lists the methods")
  T.truthy(H.text(sl, t.loss):find("^Column: "), "a Column value")
  T.truthy(H.text(sl, "Table"):find("t:write_csv", 1, true), "by kind name")
  local f = sl.fit.saturating({ 1, 2, 4, 8, 16 }, { 3, 2.5, 2.2, 2.05, 1.98 })
  T.truthy(H.text(sl, f):find("^sl%.fit%.saturating"), "a fit result")
  T.eq(H.text(sl, print), nil)
  local all = H.text(sl)
  T.truthy(all:find("  sl.write_json", 1, true) and all:find("Experiment:results", 1, true), all)
  -- sl.help prints
  local out = {}
  local old = print
  print = function(s) out[#out + 1] = s end
  sl.help(sl.crossover)
  sl.help(print)
  print = old
  T.truthy(out[1]:find("^sl%.crossover%(f, g%)"), out[1])
  T.truthy(out[2]:find("^no help for function"), out[2])
end)

local function set(list) return table.concat(list, " ") end

T.test("completion of globals and fields", function()
  local env = { sl = sl, print = print, pairs = pairs, t = sl.table { loss = { 1 }, lr = { 2 }, run = { "a" } },
    s = "text", n = 3, cfg = setmetatable({ own = 1 }, { __index = { inherited = 2 } }) }
  T.eq(set(H.complete("sl.fi", env)), "sl.figure sl.fit")
  T.eq(set(H.complete("sl.fit.po", env)), "sl.fit.poly sl.fit.powerlaw")
  T.eq(set(H.complete("sl.fit.powe", env)), "sl.fit.powerlaw")
  T.eq(set(H.complete("sl.exp", env)), "sl.experiment")
  T.eq(set(H.complete("pr", env)), "print")
  T.eq(set(H.complete("re", env)), "repeat return")
  T.eq(set(H.complete("t:gr", env)), "t:group_by")
  T.eq(set(H.complete("t.l", env)), "t.loss t.lr")
  T.eq(set(H.complete("t.r", env)), "t.row t.rows t.run")
  T.eq(set(H.complete("t.loss:me", env)), "t.loss:mean")
  T.eq(set(H.complete("s:up", env)), "s:upper")
  T.eq(set(H.complete("cfg.", env)), "cfg.inherited cfg.own")
  T.eq(set(H.complete("n.", env)), "")
  T.eq(set(H.complete("nosuch.x", env)), "")
  T.eq(set(H.complete("sl..x", env)), "")
  T.eq(set(H.complete("sl.fit:p", env)), "sl.fit:poly sl.fit:powerlaw")
end)

os.exit(T.done("test_help"), true)
