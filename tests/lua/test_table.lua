-- Tables, columns and the CSV reader through the Lua API.
local T = dofile("tests/lua/testlib.lua")
local sl = require "scalelua"

local csv = "run,method,params,step,loss\n" ..
  "a,full,1e8,1,4.5\n" .. "a,full,1e8,2,4.0\n" ..
  "b,moba,2e8,1,4.4\n" .. "b,moba,2e8,2,3.9\n" .. "a,full,1e8,3,3.8\n"

T.test("version", function()
  T.eq(type(sl.version), "string")
  T.truthy(sl.version:match("^%d+%.%d+%.%d+$"), "version format")
end)

T.test("read_csv_string types and sizes", function()
  local t = sl.read_csv_string(csv)
  T.eq(t:nrows(), 5)
  T.eq(#t, 5)
  T.eq(t:ncols(), 5)
  local names = t:names()
  T.eq(table.concat(names, ","), "run,method,params,step,loss")
  local ty = t:types()
  T.eq(ty.run, "string")
  T.eq(ty.loss, "number")
  T.eq(t.loss[1], 4.5)
  T.eq(t.run[3], "b")
  T.eq(t:column("params")[3], 2e8)
  T.eq(t.loss[6], nil)
  T.eq(t.nosuch, nil)
end)

T.test("column reductions and arithmetic", function()
  local t = sl.read_csv_string(csv)
  local c = t.loss
  T.eq(#c, 5)
  T.near(c:sum(), 4.5 + 4.0 + 4.4 + 3.9 + 3.8)
  T.eq(c:min(), 3.8)
  T.eq(c:max(), 4.5)
  local d = c * 2 + 1
  T.eq(d[1], 10)
  T.eq((2 * c)[2], 8)
  T.eq((c - c)[3], 0)
  T.eq((-c)[1], -4.5)
  T.eq((c / c)[4], 1)
  T.eq((c ^ 2)[1], 20.25)
  T.eq((1 / c)[2], 0.25)
  local tt = c:totable()
  T.eq(#tt, 5)
  T.eq(tt[5], 3.8)
  T.raises(function() return t.run + 1 end, "strings")
  T.raises(function() return c + sl.column({ 1, 2 }) end, "lengths differ")
end)

T.test("new columns and compute", function()
  local t = sl.read_csv_string(csv)
  t.tokens = t.step * 1e9
  t.compute = sl.pflops_days(sl.flops_6nd(t.params, t.tokens))
  T.near(t.compute[1], 6 * 1e8 * 1e9 / 8.64e19)
  t.one = 1
  T.eq(t.one[5], 1)
  t.tag = "x"
  T.eq(t.tag[4], "x")
  t.one = nil
  T.eq(t.one, nil)
  T.raises(function() t.bad = { 1, 2 } end, "2 values for a table of 5 rows")
end)

T.test("head, tail, where, sort", function()
  local t = sl.read_csv_string(csv)
  T.eq(#t:head(2), 2)
  T.eq(t:tail(1).loss[1], 3.8)
  local a = t:where("run", "a")
  T.eq(#a, 3)
  T.eq(a.step[3], 3)
  T.eq(#t:where("run", { "a", "b" }), 5)
  T.eq(#t:where("step", 2), 2)
  T.eq(#t:where(function(r) return r.loss < 4.1 end), 3)
  local s = t:sort("loss")
  T.eq(s.loss[1], 3.8)
  T.eq(s.loss[5], 4.5)
  T.eq(t:sort("loss", true).loss[1], 4.5)
  T.raises(function() t:where("nope", 1) end, "no column 'nope'")
end)

T.test("group_by keeps first-appearance order", function()
  local t = sl.read_csv_string(csv)
  local keys, sizes = {}, {}
  for k, sub in t:group_by("run") do
    keys[#keys + 1] = k
    sizes[#sizes + 1] = #sub
  end
  T.eq(table.concat(keys, ","), "a,b")
  T.eq(table.concat(sizes, ","), "3,2")
  local n = 0
  for k, sub in t:group_by("method", "step") do
    n = n + 1
    T.eq(type(k), "table")
    T.eq(#sub >= 1, true)
  end
  T.eq(n, 5)
end)

T.test("preview", function()
  local t = sl.read_csv_string(csv)
  local s = tostring(t)
  T.truthy(s:find("5 rows x 5 columns", 1, true), "dimensions in " .. s)
  T.truthy(s:find("loss", 1, true), "names")
  T.truthy(s:find("<str>", 1, true), "types")
  T.truthy(tostring(t.loss):find("Column 'loss'", 1, true), "column preview")
end)

T.test("read_csv options and errors", function()
  local dir = T.tmpdir()
  local p = dir .. "/x.csv"
  local f = assert(io.open(p, "w"))
  f:write("a;b;c\n1;x;3\n4;y;NA\n")
  f:close()
  local t = sl.read_csv(p, { delimiter = ";", columns = { "a", "c" } })
  T.eq(t:ncols(), 2)
  T.eq(t.c[1], 3)
  T.truthy(t.c[2] ~= t.c[2], "NA is NaN")
  local t2 = sl.read_csv(p, { delimiter = ";", types = { a = "string" } })
  T.eq(t2.a[1], "1")
  T.raises(function() sl.read_csv(p, { delimitr = ";" }) end, "unknown option 'delimitr'")
  T.raises(function() sl.read_csv(dir .. "/missing.csv") end, "missing.csv")
  f = assert(io.open(p, "w"))
  f:write("a,b\n1,2\n3,abc\n")
  f:close()
  local err = T.raises(function() sl.read_csv(p, { types = { b = "number" } }) end, "x.csv:3")
  T.truthy(err:find("'b'", 1, true), "column named in " .. err)
  os.execute("rm -rf " .. dir)
end)

T.test("csv_records", function()
  local dir = T.tmpdir()
  local p = dir .. "/r.csv"
  local f = assert(io.open(p, "w"))
  f:write('a,b\n"x,1","say ""hi"""\n')
  f:close()
  local recs = {}
  for r in sl.csv_records(p) do recs[#recs + 1] = r end
  T.eq(#recs, 2)
  T.eq(recs[1][2], "b")
  T.eq(recs[2][1], "x,1")
  T.eq(recs[2][2], 'say "hi"')
  os.execute("rm -rf " .. dir)
end)

T.test("sl.table and sl.column", function()
  local t = sl.table { x = { 1, 2, 3 }, name = { "p", "q", "r" } }
  T.eq(#t, 3)
  T.eq(t.name[2], "q")
  T.eq(sl.column({ 5, 6 })[2], 6)
end)

os.exit(T.done("test_table"))
