-- test_bad_inputs.lua: the bad-input corpus (tests/bad, see its README.md)
-- through sl.read_csv, and bad data for the numeric layer through sl.fit,
-- sl.envelope and the tick locator.  Each case asserts the documented
-- behaviour: the exact error message, or the values accepted.
-- Run from the top of the tree: build/scalelua tests/lua/test_bad_inputs.lua
local T = dofile("tests/lua/testlib.lua")
local sl = require "scalelua"
local core = require "scalelua.core"

local B = "tests/bad/"

-- The message of read_csv(path, opts), which must fail.
local function read_error(path, opts)
  local ok, err = pcall(sl.read_csv, path, opts)
  T.eq(ok, false, path .. " read without error")
  return tostring(err)
end

local function column(t, name)
  local c = t[name]
  local out = {}
  for i = 1, #c do out[i] = c[i] end
  return out, c:type()
end

-- CSV syntax --------------------------------------------------------------

T.test("empty file: a table without columns or rows", function()
  local t = sl.read_csv(B .. "empty.csv")
  T.eq(#t, 0)
  T.eq(t:ncols(), 0)
end)

T.test("header only: three numeric columns, no rows", function()
  local t = sl.read_csv(B .. "header_only.csv")
  T.eq(#t, 0)
  T.eq(table.concat(t:names(), ","), "run,step,loss")
  for _, n in ipairs({ "run", "step", "loss" }) do T.eq(t[n]:type(), "number", n) end
end)

T.test("ragged rows: file:line:column and the column", function()
  T.eq(read_error(B .. "ragged_short.csv"),
    B .. "ragged_short.csv:3:5: expected 3 fields, found 2: no value for column 'loss'")
  T.eq(read_error(B .. "ragged_long.csv"),
    B .. "ragged_long.csv:3:10: expected 3 fields, found 4: an extra field after column 'loss'")
end)

T.test("a quote that never closes", function()
  T.eq(read_error(B .. "unclosed_quote.csv"),
    B .. "unclosed_quote.csv:2:1: column 'run': unterminated quoted field")
end)

T.test("text after a closing quote", function()
  T.eq(read_error(B .. "after_quote.csv"),
    B .. "after_quote.csv:2:5: column 'run': unexpected 'x' after a closing quote")
end)

T.test("NUL byte: text, shown escaped when a number is required", function()
  local t = sl.read_csv(B .. "nul.csv")
  local loss, ty = column(t, "loss")
  T.eq(ty, "string")
  T.eq(loss[2], "3.1") -- strings end at the NUL for Lua and C callers
  T.eq(#t, 3)
  T.eq(read_error(B .. "nul.csv", { types = { loss = "number" } }),
    B .. "nul.csv:3:6: column 'loss': '3.1\\x00' is not a number")
end)

T.test("invalid UTF-8: bytes kept as they are", function()
  local t = sl.read_csv(B .. "bad_utf8.csv")
  local run = column(t, "run")
  T.eq(run[1], "\xff\xfe")
  T.eq(#t, 6)
  T.eq(t.run:type(), "string")
  T.eq(t.loss:type(), "number")
end)

T.test("BOM: dropped at the start, data in the middle", function()
  local t = sl.read_csv(B .. "bom_start.csv")
  T.eq(table.concat(t:names(), ","), "run,step,loss")
  local m = sl.read_csv(B .. "bom_middle.csv")
  local step, ty = column(m, "step")
  T.eq(ty, "string")
  T.eq(step[2], "\xef\xbb\xbf2")
  T.eq(read_error(B .. "bom_middle.csv", { types = { step = "number" } }),
    B .. "bom_middle.csv:3:4: column 'step': '\\xef\\xbb\\xbf2' is not a number")
end)

T.test("CR-only line ends: the same table as LF", function()
  local t = sl.read_csv(B .. "cr_only.csv")
  local loss, ty = column(t, "loss")
  T.eq(ty, "number")
  T.eq(#loss, 3)
  T.eq(loss[1], 3.5)
  T.eq(loss[3], 2.9)
end)

T.test("duplicate column names", function()
  T.eq(read_error(B .. "dup_columns.csv"),
    B .. "dup_columns.csv:1:15: duplicate column name 'step'")
end)

-- Numbers -------------------------------------------------------------------

T.test("'abc' in a number column: a text column, or an error when declared", function()
  local t = sl.read_csv(B .. "number_abc.csv")
  local loss, ty = column(t, "loss")
  T.eq(ty, "string")
  T.eq(loss[2], "abc")
  T.eq(loss[1], "3.5")
  T.eq(read_error(B .. "number_abc.csv", { types = { loss = "number" } }),
    B .. "number_abc.csv:3:6: column 'loss': 'abc' is not a number")
end)

T.test("1e999 and -inf: infinite numbers", function()
  local a = column(sl.read_csv(B .. "number_1e999.csv"), "loss")
  T.eq(a[2], math.huge)
  T.eq(a[1], 3.5)
  local b = column(sl.read_csv(B .. "number_neginf.csv"), "loss")
  T.eq(b[2], -math.huge)
end)

-- Files being written, gone, or not files ---------------------------------

T.test("truncated last line: an error that says the file may be growing", function()
  T.eq(read_error(B .. "truncated.csv"),
    B .. "truncated.csv:4:5: expected 3 fields, found 2: no value for column 'loss' " ..
    "(the last line has no line end: is the file still being written?)")
  -- a last line cut after its last delimiter cannot be told from a
  -- complete one without a line end: accepted
  local loss = column(sl.read_csv(B .. "truncated_value.csv"), "loss")
  T.eq(#loss, 3)
  T.eq(loss[3], 2.9)
end)

local dir = T.tmpdir()

T.test("a file that is not there, or is a directory", function()
  T.eq(read_error(dir .. "/gone.csv"), dir .. "/gone.csv: No such file or directory")
  T.eq(read_error(dir), dir .. ": Is a directory")
  os.execute("mkdir " .. dir .. "/d.csv")
  T.eq(read_error(dir .. "/*.csv"), dir .. "/d.csv: Is a directory")
  os.execute("rmdir " .. dir .. "/d.csv")
end)

T.test("a file that disappears between the glob and the read", function()
  -- a dangling link is listed by the glob but cannot be opened
  local f = assert(io.open(dir .. "/a.csv", "w"))
  f:write("run,step,loss\nr1,1,3.5\n")
  f:close()
  os.execute("ln -s " .. dir .. "/vanished.csv " .. dir .. "/b.csv")
  T.eq(read_error(dir .. "/*.csv"), dir .. "/b.csv: No such file or directory")
  os.remove(dir .. "/b.csv")
  T.eq(#sl.read_csv(dir .. "/*.csv"), 1)
  os.remove(dir .. "/a.csv")
end)

T.test("a glob that matches nothing", function()
  T.eq(read_error(dir .. "/nothing-*.csv"), dir .. "/nothing-*.csv: no files match the pattern")
end)

T.test("files of a glob with different headers", function()
  T.eq(read_error(B .. "glob/*.csv"), B .. "glob/b.csv: header differs from " .. B ..
    "glob/a.csv: column 2 is 'loss' here and 'step' there")
end)

T.test("a multi-megabyte field: over the 1 MiB cap, or read whole when allowed", function()
  local big = string.rep("x", 3 * 1024 * 1024)
  local p = dir .. "/big.csv"
  for _, quoted in ipairs({ false, true }) do
    local f = assert(io.open(p, "wb"))
    f:write("run,step,note\nr1,1,", quoted and ('"' .. big .. '"') or big, "\nr1,2,short\n")
    f:close()
    T.eq(read_error(p), p .. ":2:6: column 'note': field longer than 1048576 bytes")
    local t = sl.read_csv(p, { max_field = 4 * 1024 * 1024 })
    T.eq(#t.note[1], #big, quoted and "quoted" or "unquoted")
    T.eq(t.note[2], "short")
  end
  os.remove(p)
end)

os.execute("rmdir " .. dir)

-- The numeric layer ---------------------------------------------------------

T.test("fits with fewer points than parameters", function()
  T.raises(function() sl.fit.powerlaw({ 1 }, { 2 }) end,
    "power law needs at least 2 points, got 1")
  T.raises(function() sl.fit.saturating({ 1, 2 }, { 2, 3 }) end,
    "saturating law needs at least 3 points, got 2")
  T.raises(function() sl.fit.poly({ 1, 2 }, { 1, 2 }, 3) end,
    "polynomial of degree 3: 2 observations for 4 coefficients")
  T.raises(function()
    sl.fit.chinchilla { N = { 1e8, 2e8, 3e8, 4e8 }, D = { 1e9, 2e9, 3e9, 4e9 },
      loss = { 3, 2.9, 2.8, 2.7 } }
  end, "Chinchilla fit needs at least 5 points, got 4")
end)

T.test("all-equal data", function()
  T.raises(function() sl.fit.powerlaw({ 2, 2, 2 }, { 1, 2, 3 }) end,
    "all x are equal (x = 2): the exponent is not determined")
  local f = sl.fit.powerlaw({ 1, 2, 3 }, { 2, 2, 2 }) -- a flat law: b = 0
  T.near(f.a, 2, 1e-12)
  T.eq(f.b, 0)
  T.raises(function() sl.fit.saturating({ 1, 2, 3, 4, 5 }, { 2, 2, 2, 2, 2 }) end,
    "saturating law: all y are equal (2): E and a are not separately determined")
  local e = sl.envelope({ { x = { 1, 1, 1 }, y = { 2, 3, 2 } } })
  T.eq(#e, 1)
  T.eq(e.y[1], 2)
end)

T.test("NaN in the data", function()
  T.raises(function() sl.fit.powerlaw({ 1, 0 / 0, 3 }, { 1, 2, 3 }) end,
    "power law needs x > 0")
  T.raises(function() sl.envelope({ { x = { 0 / 0 }, y = { 1 } } }) end,
    "envelope: no valid points in 1 curve: 1 of 1 excluded (1 NaN or infinite, " ..
    "0 with x <= 0, 0 with y <= 0)")
  local e, excluded = sl.envelope({ { x = { 1, 2, 4, 8 }, y = { 4, 0 / 0, 2, math.huge } } },
    { mode = "points" })
  T.eq(excluded, 2)
  T.eq(#e, 2)
end)

T.test("non-positive values for log scales", function()
  T.raises(function() sl.fit.powerlaw({ 0, 2, 3 }, { 1, 2, 3 }) end,
    "x = 0 at point 1: power law needs x > 0")
  T.raises(function() sl.fit.powerlaw({ 1, 2, 3 }, { 1, -2, 3 }) end,
    "y = -2 at point 2: power law needs y > 0")
  T.raises(function() core.ticks(0, 10, true) end,
    "ticks: log axis limits must be positive (got 0, 10)")
  local _, excluded = sl.envelope({ { x = { 1, 2, 4 }, y = { 4, -1, 2 } } })
  T.eq(excluded, 1)
end)

T.test("a fit that does not converge: returned, marked", function()
  local f = sl.fit.saturating({ 1, 2, 3, 4, 5, 6 }, { 5, 1, 4, 2, 6, 0.5 }, { max_iter = 2 })
  T.eq(f.converged, false)
  T.eq(f.reason, "stopped: iteration limit (2) reached")
end)

os.exit(T.done("bad_inputs"))
