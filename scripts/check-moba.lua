--[[
check-moba.lua -- verify the synthetic MoBA logs against the published laws.

    lua5.4 scripts/check-moba.lua [DATADIR]     (default examples/moba/data)

For every panel (lm_loss_8k, trailing_loss_32k and the sixteen 2K position
windows) and both methods it reads the five runs from the CSV files, takes
compute C = 6 * params * tokens / 8.64e19 PFLOP/s-days, computes the lower
envelope of the five curves in log-log space on a 1500-point log grid over
the covered compute range, fits L = a C^b by least squares on (log C,
log L) and compares with the published a and b.  Prints one line per panel
and exits 1 if any is off by more than 1% in a or 0.003 in b.

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

local bad, worst_a, worst_b = 0, 0, 0
print(string.format("%-20s %-4s %8s %8s %8s %9s %9s %8s", "panel", "meth",
                    "a pub", "a fit", "rel", "b pub", "b fit", "diff"))
for _, p in ipairs(PUBLISHED) do
  local cols = read_csv(p[2])
  for k, method in ipairs({"moba", "full"}) do
    local a, b = p[2 + 2 * k], p[3 + 2 * k]
    local xs, ys = curves(cols, method, p[3])
    assert(#xs == 5, p[1] .. " " .. method .. ": expected 5 runs")
    local fa, fb = powerlaw(envelope(xs, ys, 1500))
    local ra, db = fa / a - 1, fb - b
    worst_a, worst_b = math.max(worst_a, math.abs(ra)), math.max(worst_b, math.abs(db))
    local ok = math.abs(ra) <= 0.01 and math.abs(db) <= 0.003
    if not ok then bad = bad + 1 end
    print(string.format("%-20s %-4s %8.3f %8.4f %+7.3f%% %9.3f %9.5f %+8.5f%s",
                        p[1], method, a, fa, 100 * ra, b, fb, db,
                        ok and "" or "  FAIL"))
  end
end
print(string.format("worst: a %.3f%%, b %.5f; %d of %d panels out of"
                    .. " tolerance", 100 * worst_a, worst_b, bad,
                    2 * #PUBLISHED))
os.exit(bad == 0 and 0 or 1)
