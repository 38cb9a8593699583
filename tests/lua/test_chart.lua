-- Charts, rendering and ticks through the Lua binding (scalelua.core).
local T = dofile("tests/lua/testlib.lua")
local core = require "scalelua.core"

local dir = T.tmpdir()

local function readfile(p)
  local f = io.open(p, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- Width and height from a PNG's IHDR chunk.
local function png_size(p)
  local s = readfile(p)
  if not s or s:sub(1, 8) ~= "\137PNG\r\n\26\n" then return nil end
  return string.unpack(">I4I4", s, 17)
end

local function files()
  local n = 0
  local p = io.popen("ls -A '" .. dir .. "'")
  for _ in p:lines() do n = n + 1 end
  p:close()
  return n
end

-- The MoBA Figure 3(b) look-alike built through the binding.
local function moba()
  local c = core.chart()
  c:axis("x", { log = true, label = "PFLOP/s-days", min = 0.05, max = 20 })
  c:axis("y", { log = true, label = "Trailing LM loss (seqlen=32K, last 2K)",
                min = 0.9, max = 5 })
  c:legend("upper right")
  local ends = { 0.426, 0.873, 1.574, 2.854, 5.381 }
  local laws = { { 1.546, -0.108, "#1f77b4", "MoBA Projection" },
                 { 1.464, -0.097, "C3", "Full Attention Projection" } }
  for _, law in ipairs(laws) do
    for _, e in ipairs(ends) do
      local x, y = {}, {}
      for k = 0, 99 do
        local C = e * 0.03 ^ (1 - k / 99)
        x[#x + 1] = C
        y[#y + 1] = law[1] * C ^ law[2] *
          (1 + 1.2 * ((C / e) ^ -0.35 - 1) / (0.03 ^ -0.35 - 1))
      end
      c:line(x, y, { color = law[3], width = 1.2 })
    end
  end
  for _, law in ipairs(laws) do
    c:line({ 0.05, 20 }, { law[1] * 0.05 ^ law[2], law[1] * 20 ^ law[2] },
      { color = law[3], dash = "dashed" }, law[4])
  end
  return c
end

T.test("ticks: MoBA y axis labels as matplotlib", function()
  local t = core.ticks(0.9, 4.5, true)
  T.eq(#t, 5)
  T.eq(t[1].value, 0.9)
  T.eq(t[1].label, nil)
  T.eq(t[2].value, 1.0)
  T.eq(t[2].major, true)
  T.eq(t[2].label, "10#u0#d")
  T.eq(t[3].label, "2#(727)10#u0#d")
  T.eq(t[5].label, "4#(727)10#u0#d")
  T.eq(t[5].major, false)
end)

T.test("ticks: linear and errors", function()
  local t = core.ticks(0, 1)
  local labels = {}
  for _, v in ipairs(t) do labels[#labels + 1] = v.label end
  T.eq(table.concat(labels, " "), "0 0.2 0.4 0.6 0.8 1")
  T.near(t[4].value, 0.6, 0)
  T.raises(function() core.ticks(0, 10, true) end, "positive")
  T.raises(function() core.ticks(0 / 0, 1) end, "finite")
end)

T.test("chart methods chain and validate", function()
  local c = core.chart()
  T.eq(c:title("t"), c)
  T.eq(c:axis("x", { log = true }), c)
  T.eq(c:legend("none"), c)
  T.eq(c:line({ 1, 2 }, { 3, 4 }), c)
  T.eq(c:band({ 1, 2 }, { 1, 1 }, { 2, 2 }, { color = 0x00ff00 }, "b"), c)
  T.truthy(tostring(c):match("^Chart"), "tostring")
  T.raises(function() c:axis("z", {}) end, "invalid option 'z'")
  T.raises(function() c:axis("x", { lg = true }) end, "unknown field 'lg'")
  T.raises(function() c:axis("x", { log = true, min = 0 }) end, "positive")
  T.raises(function() c:axis("y", { min = "a" }) end, "'min' must be a number")
  T.raises(function() c:legend("middle") end, "invalid option 'middle'")
  T.raises(function() c:line({ 1, 2 }, { 1 }) end, "x has 2 values, y has 1")
  T.raises(function() c:line({ 1, 2 }, { 1, 2 }, { colour = "red" }) end,
    "unknown field 'colour'")
  T.raises(function() c:line({ 1 }, { 1 }, { color = "bleu" }) end,
    "unknown colour 'bleu'")
  T.raises(function() c:line({ 1 }, { 1 }, { color = "#12345" }) end,
    "is not #rrggbb")
  T.raises(function() c:line({ 1 }, { 1 }, { color = 0x1000000 }) end,
    "0..0xFFFFFF")
  T.raises(function() c:line({ 1 }, { 1 }, { dash = "wavy" }) end,
    "'wavy' is not solid")
  T.raises(function() c:line({ 1 }, { 1 }, { marker = "star" }) end,
    "'star' is not none")
  T.raises(function() c:line({ 1 }, { 1 }, { alpha = 2 }) end, "alpha 2")
  T.raises(function() c:line({ 1 }, { "a" }) end, "expected a number")
  T.eq(c:line({ 1 }, { 1 }, { color = "#abc", dash = "--", marker = "o",
    width = 2, alpha = 0.5, marker_size = 6 }), c)
end)

T.test("render PNG through the binding", function()
  local c = moba()
  local p = dir .. "/moba.png"
  T.eq(core.render({ c }, { width = 6.4, height = 4.8, dpi = 150 }, p), p)
  local w, h = png_size(p)
  T.eq(w, 960)
  T.eq(h, 720)
  core.render(c, { width = 3, height = 2, dpi = 200 }, p) -- a lone chart
  w, h = png_size(p)
  T.eq(w, 600)
  T.eq(h, 400)
end)

T.test("render SVG: deterministic, colours present", function()
  local c = moba()
  local a, b = dir .. "/a.svg", dir .. "/b.svg"
  core.render({ c }, nil, a)
  core.render({ moba() }, nil, b)
  local sa, sb = readfile(a), readfile(b)
  T.truthy(sa and #sa > 1000, "svg written")
  T.eq(sa, sb, "same chart, same bytes")
  T.truthy(sa:find("width=\"461pt\"", 1, true), "6.4 in = 461 pt wide")
  T.truthy(sa:find("rgb(12.156863%,46.666667%,70.588235%)", 1, true), "blue")
  T.truthy(sa:find("rgb(83.921569%,15.294118%,15.686275%)", 1, true), "C3 red")
end)

T.test("render a grid with a figure title", function()
  local c1, c2, c3 = moba(), moba(), core.chart()
  c3:title("empty panel")
  local p = dir .. "/grid.png"
  core.render({ c1, c2, c3 }, { cols = 2, width = 8, height = 6, dpi = 50,
    title = "Three panels" }, p)
  local w, h = png_size(p)
  T.eq(w, 400)
  T.eq(h, 300)
  T.raises(function()
    core.render({ c1, c2, c3 }, { rows = 1, cols = 2 }, dir .. "/x.png")
  end, "3 panels do not fit a 1 x 2 grid")
end)

T.test("render errors are clear and leave no file", function()
  local before = files()
  local c = core.chart()
  c:axis("y", { log = true, label = "loss" })
  c:line({ 1, 2, 3 }, { 1, -2, 3 }, nil, "bad")
  T.raises(function() core.render({ c }, nil, dir .. "/neg.png") end,
    "panel 1, layer 1 (line bad): y[2] = -2 is not positive on a log y axis")
  local ok = moba()
  T.raises(function() core.render({ ok }, nil, dir .. "/fig.jpg") end,
    "unknown extension")
  T.raises(function() core.render({ ok }, nil, dir .. "/missing/fig.png") end,
    "missing")
  T.raises(function() core.render({ ok }, { dpi = 0 }, dir .. "/f.png") end,
    "dpi 0")
  T.raises(function() core.render({ ok }, { size = 3 }, dir .. "/f.png") end,
    "unknown field 'size'")
  T.raises(function() core.render({ ok, 42 }, nil, dir .. "/f.png") end,
    "charts[2] is not an open chart")
  T.raises(function() core.render({}, nil, dir .. "/f.png") end, "no charts")
  T.eq(files(), before, "no file left behind")
end)

T.test("closed charts", function()
  local p = dir .. "/closed.png"
  do
    local c <close> = core.chart()
    c:line({ 1, 2 }, { 1, 2 })
    core.render(c, nil, p)
    T.truthy(png_size(p), "rendered before closing")
    getmetatable(c).__close(c)
    T.raises(function() c:title("x") end, "chart is closed")
  end
end)

-- Lines of two Columns are drawn from the Columns' numbers, not copied:
-- the same bytes as from arrays; a Column closed while a chart holds it
-- stays readable to the chart (and closed to the user) until the chart
-- goes; charts and Columns dropped in any order leave nothing behind (the
-- sanitizer run checks for leaks).
T.test("lines of Columns: borrowed, pinned", function()
  local xs, ys = {}, {}
  for i = 1, 500 do xs[i] = 0.05 * 400 ^ ((i - 1) / 499); ys[i] = 3 * xs[i] ^ -0.1 end
  local function chart(x, y)
    local c = core.chart()
    c:axis("x", { log = true }):axis("y", { log = true })
    c:line(x, y, { color = "C0" }, "run")
    return c
  end
  local a, b = dir .. "/arrays.svg", dir .. "/cols.svg"
  core.render(chart(xs, ys), nil, a)
  local cx, cy = core.column(xs, "x"), core.column(ys, "y")
  local c = chart(cx, cy)
  core.render(c, nil, b)
  T.eq(readfile(b), readfile(a), "Columns draw as arrays do")
  -- closed while the chart holds it
  local x2 = core.column(xs, "x")
  do
    local closing <close> = x2
    c:line(x2, cy, { color = "C1" })
  end
  T.raises(function() return x2:min() end, "column has been closed")
  T.raises(function() c:line(x2, cy) end, "column has been closed")
  core.render(c, nil, dir .. "/after_close.svg")
  T.truthy(#readfile(dir .. "/after_close.svg") > 1000, "rendered after the close")
  -- a Column of strings, or of other lengths, takes the copying path and
  -- its messages
  T.raises(function() c:line(cx, core.column({ 1, 2 })) end, "x has 500 values, y has 2")
  T.raises(function() c:line(core.column({ "a" }), core.column({ 1 })) end, "holds strings")
  -- churn: charts and Columns made and dropped, closed in both orders
  for k = 1, 200 do
    local x, y = core.column(xs), core.column(ys)
    local ch = chart(x, y)
    if k % 3 == 0 then getmetatable(x).__close(x) end
    if k % 5 == 0 then getmetatable(ch).__close(ch) end
    if k % 7 == 0 then getmetatable(y).__close(y); getmetatable(ch).__close(ch) end
    if k % 50 == 0 then collectgarbage() end
  end
  collectgarbage()
  collectgarbage()
  T.eq(#cy, 500, "the chart's own Columns untouched")
end)

os.execute("rm -rf '" .. dir .. "'")
os.exit(T.done("test_chart"))
