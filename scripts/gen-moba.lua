--[[
gen-moba.lua -- SYNTHETIC training logs for the MoBA scaling-law example.

    lua5.4 scripts/gen-moba.lua examples/moba/data

writes trailing_32k.csv, lm_loss_8k.csv and positions_32k.csv into the
directory given.  The data is made up.  The real training logs of "MoBA:
Mixture of Block Attention for Long-Context LLMs" (arXiv 2502.13189) are
not public; what is public are the five model configurations (Table 1) and
the fitted laws L(C) = a * C^b of Figure 3 and of the appendix figure.  This
script invents per-step logs for those ten runs (five sizes, MoBA and full
attention) and calibrates them so that the lower envelope of the five curves
of a method, fitted with a power law in log-log space over the whole
compute range the runs cover, gives back the published law of every panel.

Pure Lua 5.4 with its own random generator (xoshiro256** on 64-bit
integers, seeded by SEED below): the output is the same on every machine.

The model of one run of a panel (a, b), compute C = 6 N D in PFLOP/s-days
(N parameters, D tokens), run ending at compute C_end:

    slow(C) = a' C_end^b' * (w1 + w2 (C / C_end)^-beta)
    raw(C)  = slow(C) + early * X(D),   X(D) = X0 / (u + u^p),  u = D / D0
    L(C)    = raw / (1 + (raw / 10.8)^6)^(1/6)

with beta = kappa |b'|, w2 = 1 / kappa, w1 = 1 - w2.  The slow phase is
tangent to the law a' C^b' at the last step (slope and value) and lies
above it before; larger models have a larger kappa.  X is the early excess
of a run that has not yet learnt the short-range statistics of text: the
same number of nats at the same number of tokens for every size and every
panel, falling like 1/D at first and like D^-p (p = 3.2) after D0 = 300M
tokens, so it is gone by the time a run reaches the frontier.  At equal
compute a larger run has seen fewer tokens, so the larger runs enter the
figures (C >= 0.05) high and falling steeply, then bend onto their slow
phase; the last line caps the loss softly at 10.8 nats, the loss of the
untrained model (ln of the 128K vocabulary is 11.8), which the larger runs
sit near during their first logged steps.

The smallest run (early = 0, kappa = 1) follows the law itself: it alone
forms the lower envelope from its first logged step (C = 0.0004) to where
the 822M run overtakes it (C = 0.1 to 0.4), about two thirds of the log
range the fit covers, so any early excess there would pull the fitted law
away from the frontier.  Its first steps are therefore too low for a real
run; they lie left of the compute range the paper plots (0.05 to 20).

Logs: every 10 steps during the learning-rate warm-up (10 logging
intervals), then every 25 to 40 steps, from step 10 to the end.

Multiplicative, autocorrelated noise of about 0.3% is added, and a' and b'
are calibrated per panel and method (fixed-point steps on the final noisy
curves) so that the envelope, fitted by least squares on log-log, returns
the published a and b to the precision they are printed with.  a' and b'
differ from a and b by less than 0.1% and 0.001 (the log prints them).
--]]

local SEED = 0x2502131890 -- the paper's arXiv number

local outdir = arg and arg[1]
if not outdir then
  io.stderr:write("usage: lua5.4 scripts/gen-moba.lua OUTDIR\n")
  os.exit(2)
end

-- ------------------------------------------------------------------ facts

-- Table 1 of the paper; batch (tokens per step), logging interval and peak
-- learning rate are our choices.  tokens = step * tokens_per_step.  kappa
-- sets the curvature of the slow phase, early = 0 drops the early excess
-- (the smallest run, see above).
local MODELS = {
  {name = "568M", params = 568e6, layers = 14, heads = 14, hidden = 1792,
   tokens = 10.8e9, tps = 1048576, every = 25, lr = 4.2e-4,
   kappa = 1.0, early = 0},
  {name = "822M", params = 822e6, layers = 16, heads = 16, hidden = 2048,
   tokens = 15.3e9, tps = 1048576, every = 35, lr = 3.6e-4,
   kappa = 1.6, early = 1},
  {name = "1.1B", params = 1.1e9, layers = 18, heads = 18, hidden = 2304,
   tokens = 20.6e9, tps = 1572864, every = 30, lr = 3.2e-4,
   kappa = 2.1, early = 1},
  {name = "1.5B", params = 1.5e9, layers = 20, heads = 20, hidden = 2560,
   tokens = 27.4e9, tps = 2097152, every = 30, lr = 2.8e-4,
   kappa = 2.6, early = 1},
  {name = "2.1B", params = 2.1e9, layers = 22, heads = 22, hidden = 2816,
   tokens = 36.9e9, tps = 2097152, every = 40, lr = 2.4e-4,
   kappa = 3.1, early = 1},
}

local PFLOPS_DAY = 8.64e19 -- FLOPs in one PFLOP/s-day

-- The published fits L = a C^b (C in PFLOP/s-days): Figure 3 (a) and (b)
-- and the appendix figure, one panel per 2K window of 32K sequences.
local LAWS = {
  lm_loss_8k = {moba = {2.625, -0.063}, full = {2.622, -0.063}},
  windows = {
    {moba = {3.075, -0.078}, full = {3.068, -0.078}}, -- 0K-2K
    {moba = {2.415, -0.084}, full = {2.411, -0.083}},
    {moba = {2.085, -0.081}, full = {2.077, -0.081}},
    {moba = {1.899, -0.092}, full = {1.894, -0.092}},
    {moba = {1.789, -0.091}, full = {1.774, -0.089}}, -- 8K-10K
    {moba = {1.721, -0.092}, full = {1.697, -0.087}},
    {moba = {1.670, -0.089}, full = {1.645, -0.088}},
    {moba = {1.630, -0.089}, full = {1.600, -0.087}},
    {moba = {1.607, -0.090}, full = {1.567, -0.087}}, -- 16K-18K
    {moba = {1.586, -0.091}, full = {1.542, -0.087}},
    {moba = {1.571, -0.093}, full = {1.519, -0.086}},
    {moba = {1.566, -0.089}, full = {1.513, -0.085}},
    {moba = {1.565, -0.091}, full = {1.502, -0.085}}, -- 24K-26K
    {moba = {1.562, -0.095}, full = {1.493, -0.088}},
    {moba = {1.547, -0.097}, full = {1.471, -0.091}},
    {moba = {1.546, -0.108}, full = {1.464, -0.097}}, -- 30K-32K = trailing
  },
}

local METHODS = {"moba", "full"}
local INIT_LOSS = 10.8  -- loss at step 0 (128K vocabulary: ln 128K = 11.8)
local CAP_SHARPNESS = 6 -- how sharply the early loss saturates at INIT_LOSS
local EXCESS_NATS = 6.3     -- X0 of the early excess X(D) (nats)
local EXCESS_TOKENS = 300e6 -- D0: where its fall steepens from 1/D to D^-p
local EXCESS_POWER = 3.2    -- p: how fast it dies after D0
local DENSE_EVERY = 10  -- logging interval (steps) during the LR warm-up
local NOISE = 0.003     -- relative noise (standard deviation)
local NOISE_RHO = 0.9   -- its correlation from one logged step to the next

-- ------------------------------------------------------------ random numbers

-- xoshiro256** (Blackman and Vigna) on Lua's wrapping 64-bit integers,
-- seeded through splitmix64.
local function rotl(x, k) return (x << k) | (x >> (64 - k)) end

local function rng_new(seed)
  local s = {}
  local z = seed
  for i = 1, 4 do
    z = z + 0x9e3779b97f4a7c15
    local t = z
    t = (t ~ (t >> 30)) * 0xbf58476d1ce4e5b9
    t = (t ~ (t >> 27)) * 0x94d049bb133111eb
    s[i] = t ~ (t >> 31)
  end
  return s
end

local function rng_next(s)
  local result = rotl(s[2] * 5, 7) * 9
  local t = s[2] << 17
  s[3] = s[3] ~ s[1]
  s[4] = s[4] ~ s[2]
  s[2] = s[2] ~ s[3]
  s[1] = s[1] ~ s[4]
  s[3] = s[3] ~ t
  s[4] = rotl(s[4], 45)
  return result
end

local function uniform(s) return (rng_next(s) >> 11) * 0x1p-53 end

-- Approximately standard normal: the sum of 12 uniforms minus 6 (only
-- + and -, so identical on every platform).
local function normal(s)
  local t = 0
  for _ = 1, 12 do t = t + uniform(s) end
  return t - 6
end

-- A stationary AR(1) series of n values with standard deviation sd.
local function ar1(s, n, sd, rho)
  local e, v = {}, normal(s) * sd
  local k = math.sqrt(1 - rho * rho) * sd
  for i = 1, n do
    if i > 1 then v = rho * v + k * normal(s) end
    e[i] = v
  end
  return e
end

-- --------------------------------------------------------------- the runs

-- Logged steps, tokens, compute and learning rate of model m: every
-- DENSE_EVERY steps during the warm-up (DENSE_EVERY * every steps, where
-- the loss falls fast), then every `every` steps to the last step (no
-- step 0).
local function schedule(m)
  local last = math.floor(m.tokens / m.tps / m.every + 0.5) * m.every
  local warm = DENSE_EVERY * m.every
  local r = {step = {}, tokens = {}, c = {}, lr = {}}
  local s = DENSE_EVERY
  while s <= last do
    local tok = s * m.tps
    r.step[#r.step + 1] = s
    r.tokens[#r.tokens + 1] = tok
    r.c[#r.c + 1] = 6 * m.params * tok / PFLOPS_DAY
    local lr
    if s < warm then
      lr = m.lr * s / warm
    else -- cosine decay to 10% of the peak
      local p = (s - warm) / (last - warm)
      lr = m.lr * (0.1 + 0.45 * (1 + math.cos(math.pi * p)))
    end
    r.lr[#r.lr + 1] = lr
    s = s + (s < warm and DENSE_EVERY or m.every)
  end
  r.n = #r.step
  return r
end

local SCHED = {}
for i, m in ipairs(MODELS) do SCHED[i] = schedule(m) end

-- The early excess of loss (nats) after D tokens, the same for every
-- panel: what a run has not yet learned of the short-range statistics.
local function excess(d)
  local u = d / EXCESS_TOKENS
  return EXCESS_NATS / (u + u ^ EXCESS_POWER)
end

-- Loss of model i at its logged steps, for the law a' C^b': the slow
-- phase (tangent to the law at the last step), plus the early excess,
-- softly capped at the loss of the untrained model, times exp(noise[j]).
local function curve(i, a, b, noise)
  local m, sc = MODELS[i], SCHED[i]
  local cend = sc.c[sc.n]
  local beta = m.kappa * -b
  local w2 = 1 / m.kappa
  local w1 = 1 - w2
  local k = a * cend ^ b
  local y = {}
  for j = 1, sc.n do
    local v = k * (w1 + w2 * (sc.c[j] / cend) ^ -beta)
                + m.early * excess(sc.tokens[j])
    y[j] = v / (1 + (v / INIT_LOSS) ^ CAP_SHARPNESS) ^ (1 / CAP_SHARPNESS)
           * math.exp(noise[j])
  end
  return y
end

-- ------------------------------------------------- envelope and fit (Lua)

-- The same definition as scl_envelope_compute in GRID mode: `grid`
-- log-spaced x over the covered range, log-log interpolation inside each
-- curve, least y.  xs[i], ys[i] are sorted by x.
local function envelope(xs, ys, grid)
  local lo, hi = math.huge, -math.huge
  for i = 1, #xs do
    lo = math.min(lo, xs[i][1])
    hi = math.max(hi, xs[i][#xs[i]])
  end
  local llo, lhi = math.log(lo), math.log(hi)
  local q, best = {}, {}
  for j = 1, grid do
    q[j] = math.exp(llo + (lhi - llo) * (j - 1) / (grid - 1))
    best[j] = math.huge
  end
  q[1], q[grid] = lo, hi
  for i = 1, #xs do
    local x, y, n, s = xs[i], ys[i], #xs[i], 1
    for j = 1, grid do
      local v = q[j]
      if v >= x[1] and v <= x[n] then
        while s < n and x[s + 1] < v do s = s + 1 end
        local l
        if v == x[s] then
          l = y[s]
        else
          local t = math.log(v / x[s]) / math.log(x[s + 1] / x[s])
          l = y[s] * (y[s + 1] / y[s]) ^ t
        end
        if l < best[j] then best[j] = l end
      end
    end
  end
  local ex, ey = {}, {}
  for j = 1, grid do
    if best[j] < math.huge then
      ex[#ex + 1], ey[#ey + 1] = q[j], best[j]
    end
  end
  return ex, ey
end

-- Least squares line through (log x, log y): returns a, b of y = a x^b.
local function powerlaw(x, y)
  local n, su, sv = #x, 0, 0
  for i = 1, n do
    su = su + math.log(x[i])
    sv = sv + math.log(y[i])
  end
  local mu, mv, suu, suv = su / n, sv / n, 0, 0
  for i = 1, n do
    local du = math.log(x[i]) - mu
    suu = suu + du * du
    suv = suv + du * (math.log(y[i]) - mv)
  end
  local b = suv / suu
  return math.exp(mv - b * mu), b
end

local function fit_runs(ys)
  local xs = {}
  for i = 1, #MODELS do xs[i] = SCHED[i].c end
  return powerlaw(envelope(xs, ys, 1500))
end

-- a', b' such that the envelope fit of the curves, with their noise
-- (noise[i] for model i), is (a, b).  The fit moves almost one for one
-- with the law, so a fixed-point step on (log a', b') converges in a few
-- rounds.
local function calibrate(a, b, noise)
  local ca, cb = a, b
  for _ = 1, 30 do
    local ys = {}
    for i = 1, #MODELS do ys[i] = curve(i, ca, cb, noise[i]) end
    local fa, fb = fit_runs(ys)
    local da, db = math.log(a / fa), b - fb
    ca, cb = ca * math.exp(da), cb + db
    if math.abs(da) < 1e-10 and math.abs(db) < 1e-10 then break end
  end
  return ca, cb
end

-- -------------------------------------------------------------- writing

local function fmt_loss(v) return string.format("%.5f", v) end

local function open_csv(name, header)
  local path = outdir .. "/" .. name
  local f = assert(io.open(path, "w"))
  f:write(table.concat(header, ","), "\n")
  return f, path
end

local function meta(method, i, j)
  local m, sc = MODELS[i], SCHED[i]
  return string.format("%s-%s,%s,%.0f,%d,%d,%d,%d,%d,%.4e", method, m.name,
    method, m.params, m.layers, m.heads, m.hidden, sc.step[j],
    sc.tokens[j], sc.lr[j])
end

local META = {"run", "method", "params", "layers", "heads", "hidden", "step",
              "tokens", "lr"}
local function header(extra)
  local h = {}
  for _, v in ipairs(META) do h[#h + 1] = v end
  for _, v in ipairs(extra) do h[#h + 1] = v end
  return h
end

-- Each run gets its own generator, derived from SEED and what it is, so
-- the files do not depend on the order they are written in.
local function run_rng(tag, method, i)
  local h = SEED
  for c in (tag .. "/" .. method):gmatch(".") do h = h * 31 + c:byte() end
  return rng_new(h * 1000003 + i)
end

local report = {}
local function note(panel, method, a, b, ca, cb)
  report[#report + 1] = string.format(
    "  %-18s %-4s published a %.3f b %.3f   generator a' %.4f (%+.2f%%)"
    .. " b' %.4f (%+.4f)", panel, method, a, b, ca, 100 * (ca / a - 1), cb,
    cb - b)
end

-- seqlen 8K: lm_loss.
local function write_8k()
  local f, path = open_csv("lm_loss_8k.csv", header({"lm_loss"}))
  for _, method in ipairs(METHODS) do
    local a, b = table.unpack(LAWS.lm_loss_8k[method])
    local noise = {}
    for i = 1, #MODELS do
      noise[i] = ar1(run_rng("8k", method, i), SCHED[i].n, NOISE, NOISE_RHO)
    end
    local ca, cb = calibrate(a, b, noise)
    note("lm_loss_8k", method, a, b, ca, cb)
    for i = 1, #MODELS do
      local y = curve(i, ca, cb, noise[i])
      for j = 1, #y do
        f:write(meta(method, i, j), ",", fmt_loss(y[j]), "\n")
      end
    end
  end
  f:close()
  return path
end

local WINDOW_NAMES = {}
for w = 1, 16 do
  WINDOW_NAMES[w] = string.format("loss_%dk_%dk", 2 * (w - 1), 2 * w)
end

-- seqlen 32K: one run per size and method gives both files.  The sixteen
-- window losses share part of their noise (the same batches) and have a
-- part of their own, larger for late windows (fewer documents reach them).
-- lm_loss is their mean; trailing_loss is the 30K-32K window.
local function write_32k()
  local ft, pt = open_csv("trailing_32k.csv",
                          header({"lm_loss", "trailing_loss"}))
  local fp, pp = open_csv("positions_32k.csv", header(WINDOW_NAMES))
  for _, method in ipairs(METHODS) do
    local noise = {} -- noise[w][i]: window w of model i
    for w = 1, 16 do noise[w] = {} end
    for i = 1, #MODELS do
      local s = run_rng("32k", method, i)
      local n = SCHED[i].n
      local common = ar1(s, n, NOISE * 0.8, NOISE_RHO)
      for w = 1, 16 do
        local own = ar1(s, n, NOISE * (0.3 + 0.3 * w / 16), NOISE_RHO)
        for j = 1, n do own[j] = own[j] + common[j] end
        noise[w][i] = own
      end
    end
    local cal = {}
    for w = 1, 16 do
      local a, b = table.unpack(LAWS.windows[w][method])
      cal[w] = {calibrate(a, b, noise[w])}
      local panel = w == 16 and "trailing/30k_32k" or WINDOW_NAMES[w]:sub(6)
      note(panel, method, a, b, cal[w][1], cal[w][2])
    end
    for i = 1, #MODELS do
      local n = SCHED[i].n
      local ys = {}
      for w = 1, 16 do ys[w] = curve(i, cal[w][1], cal[w][2], noise[w][i]) end
      for j = 1, n do
        local cells, sum = {}, 0
        for w = 1, 16 do
          cells[w] = fmt_loss(ys[w][j])
          sum = sum + ys[w][j]
        end
        local m = meta(method, i, j)
        ft:write(m, ",", fmt_loss(sum / 16), ",", cells[16], "\n")
        fp:write(m, ",", table.concat(cells, ","), "\n")
      end
    end
  end
  ft:close()
  fp:close()
  return pt, pp
end

local p8 = write_8k()
local pt, pp = write_32k()
io.stderr:write("wrote ", p8, ", ", pt, ", ", pp, "\n")
io.stderr:write("calibration (a', b' of the generator's law; the runs are"
                .. " tangent to it at their last step):\n")
io.stderr:write(table.concat(report, "\n"), "\n")
