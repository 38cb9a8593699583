--[[
check-moba.lua -- verify the synthetic MoBA logs against the published laws.

    lua5.4 scripts/check-moba.lua [DATADIR]     (default examples/moba/data)

For every panel (lm_loss_8k, trailing_loss_32k and the sixteen 2K position
windows) and both methods it reads the five runs from the CSV files, takes
compute C = 6 * params * tokens / 8.64e19 PFLOP/s-days, computes the lower
envelope of the five curves in log-log space on a 1500-point log grid over
the covered compute range, fits L = a C^b by least squares on (log C,
log L) and compares with the published a and b.  Prints one line per panel
and exits 1 if any is off by more than 1% in a or 0.003 in b (the recipes'
tolerance; the generator is calibrated to the printed precision).

It also checks that the curves look like the training curves of a
scaling-law figure, which shows C from 0.05 (EDGE) to 20: at C = 0.05 the
runs are ordered by size, the largest at least 1.5 times the law; every
run but the smallest starts near the untrained loss (10 to 11.2 nats) and
is at least 1.5 times steeper at C = 0.05 to 0.1 than over its last
half-decade; the smallest run, alone on the envelope at small compute,
stays within 3% of the law; every run ends within 1.5% of it; and the
envelope is within 2% of the fitted line for C >= 0.05.  The loss of each
run at C = 0.05 is printed for the two panels of Figure 3.

Independent of gen-moba.lua: its own CSV reading, envelope and fit, and the
published values copied from the paper (arXiv 2502.13189, Figure 3 and the
appendix figure).  tests/c/test_moba_data.c does the same in C with
scl_envelope_compute.
--]]

local dir = arg[1] or "examples/moba/data"

local PUBLISHED = { -- panel = {moba a, moba b, full a, full b}
  {"lm_loss_8k", "lm_loss_8k.csv", "lm_loss", 2.625, -0.063, 2.622, -0.063},
  {"trailing_loss_32k", "trailing_32k.csv", "trailing_loss",
   1.546, -0.108, 1.464, -0.097},
}
local WINDOWS = {
  {3.075, -0.078, 3.068, -0.078}, {2.415, -0.084, 2.411, -0.083},
  {2.085, -0.081, 2.077, -0.081}, {1.899, -0.092, 1.894, -0.092},
  {1.789, -0.091, 1.774, -0.089}, {1.721, -0.092, 1.697, -0.087},
  {1.670, -0.089, 1.645, -0.088}, {1.630, -0.089, 1.600, -0.087},
  {1.607, -0.090, 1.567, -0.087}, {1.586, -0.091, 1.542, -0.087},
  {1.571, -0.093, 1.519, -0.086}, {1.566, -0.089, 1.513, -0.085},
  {1.565, -0.091, 1.502, -0.085}, {1.562, -0.095, 1.493, -0.088},
  {1.547, -0.097, 1.471, -0.091}, {1.546, -0.108, 1.464, -0.097},
}
for w, v in ipairs(WINDOWS) do
  local col = string.format("loss_%dk_%dk", 2 * (w - 1), 2 * w)
  PUBLISHED[#PUBLISHED + 1] = {"position " .. col:sub(6), "positions_32k.csv",
                               col, v[1], v[2], v[3], v[4]}
end

-- A CSV of plain fields (no quotes in these files): header and columns.
local cache = {}
local function read_csv(name)
  if cache[name] then return cache[name] end
  local path = dir .. "/" .. name
  local f = assert(io.open(path, "r"))
  local names, cols = nil, {}
  for line in f:lines() do
    local row = {}
    for field in line:gmatch("[^,]+") do row[#row + 1] = field end
    if not names then
      names = row
      for i, n in ipairs(names) do cols[n] = {} ; cols[i] = cols[n] end
    else
      assert(#row == #names, path .. ": wrong number of fields")
      for i, v in ipairs(row) do cols[i][#cols[i] + 1] = v end
    end
  end
  f:close()
  cache[name] = cols
  return cols
end

-- The curves (x = compute, y = loss) of one method, one per run, in file
-- order (each run's rows are contiguous and by increasing step).
local function curves(cols, method, ycol)
  local xs, ys, index = {}, {}, {}
  for r = 1, #cols.run do
    if cols.method[r] == method then
      local run = cols.run[r]
      if not index[run] then
        xs[#xs + 1], ys[#ys + 1] = {}, {}
        index[run] = #xs
      end
      local k = index[run]
      -- floats: 6 * params * tokens overflows 64-bit integers
      local c = 6.0 * tonumber(cols.params[r]) * tonumber(cols.tokens[r])
                / 8.64e19
      xs[k][#xs[k] + 1] = c
      ys[k][#ys[k] + 1] = tonumber(cols[ycol][r])
    end
  end
  return xs, ys
end

local function envelope(xs, ys, grid)
  local lo, hi = math.huge, -math.huge
  for i = 1, #xs do
    lo = math.min(lo, xs[i][1])
    hi = math.max(hi, xs[i][#xs[i]])
  end
  local q, best = {}, {}
  for j = 1, grid do
    q[j] = math.exp(math.log(lo) + (math.log(hi) - math.log(lo)) * (j - 1)
                    / (grid - 1))
    best[j] = math.huge
  end
  q[1], q[grid] = lo, hi
  for i = 1, #xs do
    local x, y, s = xs[i], ys[i], 1
    for j = 1, grid do
      local v = q[j]
      if v >= x[1] and v <= x[#x] then
        while x[s + 1] and x[s + 1] < v do s = s + 1 end
        local l = y[s]
        if v ~= x[s] then
          local t = math.log(v / x[s]) / math.log(x[s + 1] / x[s])
          l = math.exp(math.log(y[s]) + t * (math.log(y[s + 1] / y[s])))
        end
        best[j] = math.min(best[j], l)
      end
    end
  end
  local ex, ey = {}, {}
  for j = 1, grid do
    if best[j] < math.huge then ex[#ex + 1], ey[#ey + 1] = q[j], best[j] end
  end
  return ex, ey
end

local function powerlaw(x, y)
  local n, su, sv, suu, suv = #x, 0, 0, 0, 0
  for i = 1, n do
    su, sv = su + math.log(x[i]), sv + math.log(y[i])
  end
  local mu, mv = su / n, sv / n
  for i = 1, n do
    local du = math.log(x[i]) - mu
    suu = suu + du * du
    suv = suv + du * (math.log(y[i]) - mv)
  end
  local b = suv / suu
  return math.exp(mv - b * mu), b
end

local EDGE = 0.05 -- left edge of the paper's figures, PFLOP/s-days

-- Loss of curve (x, y) at compute c, log-log interpolation (nil outside).
local function at(x, y, c)
  for j = 1, #x - 1 do
    if x[j] <= c and c <= x[j + 1] then
      local t = math.log(c / x[j]) / math.log(x[j + 1] / x[j])
      return y[j] * (y[j + 1] / y[j]) ^ t
    end
  end
end

local function slope(x, y, c0, c1)
  return math.log(at(x, y, c1) / at(x, y, c0)) / math.log(c1 / c0)
end

-- The shape of one panel's runs (see the top); returns a list of
-- problems, the runs' losses at EDGE and the envelope's largest distance
-- from the fitted line (a log ratio) for C >= EDGE.
local function shape(xs, ys, a, b, ex, ey, fa, fb)
  local bad, edges, prev = {}, {}, 0
  for i = 1, #xs do
    local x, y, n = xs[i], ys[i], #xs[i]
    local e = at(x, y, EDGE)
    edges[i] = e
    if not (e and e > prev) then
      bad[#bad + 1] = string.format("run %d not above run %d at C = %g", i,
                                    i - 1, EDGE)
    end
    prev = e or prev
    local off = math.abs(math.log(y[n] / (a * x[n] ^ b)))
    if off > 0.015 then
      bad[#bad + 1] = string.format("run %d ends %.1f%% off the law", i,
                                    100 * off)
    end
    if i == 1 then
      local dev = 0
      for j = 1, n do
        dev = math.max(dev, math.abs(math.log(y[j] / (a * x[j] ^ b))))
      end
      if dev > 0.03 then
        bad[#bad + 1] = string.format("smallest run %.1f%% off the law",
                                      100 * dev)
      end
    else
      if y[1] < 10 or y[1] > 11.2 then
        bad[#bad + 1] = string.format("run %d starts at %.2f", i, y[1])
      end
      local s0 = slope(x, y, EDGE, 2 * EDGE)
      local s1 = slope(x, y, x[n] / math.sqrt(10), x[n])
      if not (s0 < 1.5 * s1 and s1 < 0) then
        bad[#bad + 1] = string.format("run %d hardly bends (slope %.3f,"
                                      .. " then %.3f)", i, s0, s1)
      end
    end
  end
  if prev < 1.5 * a * EDGE ^ b then
    bad[#bad + 1] = string.format("largest run only %.3f at C = %g", prev,
                                  EDGE)
  end
  local env = 0
  for j = 1, #ex do
    if ex[j] >= EDGE then
      env = math.max(env, math.abs(math.log(ey[j] / (fa * ex[j] ^ fb))))
    end
  end
  if env > 0.02 then
    bad[#bad + 1] = string.format("envelope %.1f%% off the fit", 100 * env)
  end
  return bad, edges, env
end

local bad, worst_a, worst_b, worst_env, shapes = 0, 0, 0, 0, 0
local notes = {}
print(string.format("%-20s %-4s %8s %8s %8s %9s %9s %8s", "panel", "meth",
                    "a pub", "a fit", "rel", "b pub", "b fit", "diff"))
for _, p in ipairs(PUBLISHED) do
  local cols = read_csv(p[2])
  for k, method in ipairs({"moba", "full"}) do
    local a, b = p[2 + 2 * k], p[3 + 2 * k]
    local xs, ys = curves(cols, method, p[3])
    assert(#xs == 5, p[1] .. " " .. method .. ": expected 5 runs")
    local ex, ey = envelope(xs, ys, 1500)
    local fa, fb = powerlaw(ex, ey)
    local ra, db = fa / a - 1, fb - b
    worst_a = math.max(worst_a, math.abs(ra))
    worst_b = math.max(worst_b, math.abs(db))
    local ok = math.abs(ra) <= 0.01 and math.abs(db) <= 0.003
    if not ok then bad = bad + 1 end
    local problems, edges, env = shape(xs, ys, a, b, ex, ey, fa, fb)
    worst_env = math.max(worst_env, env)
    if #problems > 0 then shapes = shapes + 1 end
    print(string.format("%-20s %-4s %8.3f %8.4f %+7.3f%% %9.3f %9.5f %+8.5f%s",
                        p[1], method, a, fa, 100 * ra, b, fb, db,
                        ok and "" or "  FAIL"))
    for _, v in ipairs(problems) do print("  shape: " .. v) end
    if not p[1]:find("^position") then
      local cells = {}
      for i, v in ipairs(edges) do cells[i] = string.format("%.2f", v) end
      notes[#notes + 1] = string.format("  %-18s %-4s %s (law %.2f)", p[1],
        method, table.concat(cells, " "), a * EDGE ^ b)
    end
  end
end
print(string.format("loss at C = %g, smallest to largest run:", EDGE))
print(table.concat(notes, "\n"))
print(string.format("worst: a %.3f%%, b %.5f; %d of %d panels out of"
                    .. " tolerance; envelope within %.2f%% of the fit for"
                    .. " C >= %g; %d panels with shape problems",
                    100 * worst_a, worst_b, bad, 2 * #PUBLISHED,
                    100 * worst_env, EDGE, shapes))
os.exit((bad == 0 and shapes == 0) and 0 or 1)
