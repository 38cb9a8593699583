-- The fits through the Lua API: result shapes, predict, tostring,
-- crossover and compute_ratio, options and their errors.
local T = dofile("tests/lua/testlib.lua")
local sl = require "scalelua"

-- MoBA's two laws sampled exactly over C in [0.05, 20]
local C, moba, full = {}, {}, {}
for i = 1, 40 do
  C[i] = 0.05 * 400 ^ ((i - 1) / 39)
  moba[i] = 1.546 * C[i] ^ -0.108
  full[i] = 1.464 * C[i] ^ -0.097
end

T.test("powerlaw shape, values and summary", function()
  local f = sl.fit.powerlaw(C, moba)
  T.near(f.a, 1.546, 1e-4, "a")
  T.near(f.b, -0.108, 1e-4, "b")
  T.eq(f.kind, "powerlaw")
  T.eq(f.n, 40)
  T.eq(f.converged, true)
  T.eq(type(f.reason), "string")
  T.eq(f.iterations, 0)
  T.truthy(f.r2 > 1 - 1e-12, "r2 " .. f.r2)
  T.truthy(f.rss < 1e-20, "rss")
  T.truthy(f.stderr.a < 1e-10 and f.stderr.b < 1e-10, "stderr of exact data")
  T.eq(f.ci, nil)
  T.eq(tostring(f), "L = 1.546 x C^-0.108")
  T.eq(getmetatable(f).__name, "scalelua.Fit")
  f.yname, f.xname = "loss", "PFLOP/s-days"
  T.eq(tostring(f), "loss = 1.546 x PFLOP/s-days^-0.108")
end)

T.test("powerlaw predict: number, array, Column", function()
  local f = sl.fit.powerlaw(C, moba)
  T.near(f.predict(2), 1.546 * 2 ^ -0.108, 1e-12)
  local a = f.predict({ 1, 2, 4 })
  T.eq(type(a), "table")
  T.eq(#a, 3)
  T.near(a[3], 1.546 * 4 ^ -0.108, 1e-12)
  local col = f.predict(sl.column({ 1, 10 }))
  T.eq(type(col), "userdata")
  T.near(col[2], 1.546 * 10 ^ -0.108, 1e-12)
  T.raises(function() f.predict() end, "want 1 argument")
  T.raises(function() f.predict({ 1, "x" }) end, "expected a number")
end)

T.test("powerlaw nls method and Column inputs", function()
  local f = sl.fit.powerlaw(sl.column(C), sl.column(moba), { method = "nls" })
  T.near(f.a, 1.546, 1e-6)
  T.near(f.b, -0.108, 1e-6)
  T.eq(f.converged, true)
  T.truthy(f.reason:find("converged", 1, true), f.reason)
  T.raises(function() sl.fit.powerlaw(C, moba, { method = "cubic" }) end,
    "option 'method' must be \"log\" or \"nls\"")
end)

T.test("crossover and compute_ratio of the MoBA laws", function()
  local f, g = sl.fit.powerlaw(C, moba), sl.fit.powerlaw(C, full)
  local x = sl.crossover(f, g)
  T.truthy(math.abs(x - 141.8) < 0.1, "crossover " .. tostring(x))
  T.near(f.predict(x), g.predict(x), 1e-12)
  local want = (1.9 / f.a) ^ (1 / f.b) / ((1.9 / g.a) ^ (1 / g.b))
  T.near(sl.compute_ratio(f, g, 1.9), want, 1e-12)
  -- proportional data: parallel laws never meet
  local twice = {}
  for i = 1, #moba do twice[i] = 2 * moba[i] end
  local h = sl.fit.powerlaw(C, twice)
  T.eq(sl.crossover(f, h), nil)
  T.raises(function() sl.compute_ratio(f, g, -1) end, "never reaches")
  T.raises(function() sl.crossover(f, {}) end, "expected a fit")
  T.raises(function() sl.crossover(f, 3) end, "expected a fit")
end)

T.test("saturating with named bounds", function()
  local x, y = {}, {}
  for i = 1, 50 do
    x[i] = 10 ^ (7 + 5 * (i - 1) / 49)
    y[i] = 1.69 + 480 * x[i] ^ -0.31
  end
  local f = sl.fit.saturating(x, y)
  T.near(f.E, 1.69, 1e-6)
  T.near(f.a, 480, 1e-5)
  T.near(f.b, -0.31, 1e-6)
  T.eq(type(f.stderr.E), "number")
  T.truthy(tostring(f):find("^L = 1.69 %+ 480 x C%^%-0.31"), tostring(f))
  local b = sl.fit.saturating(x, y, { lower = { E = 0 }, upper = { E = 1.5 } })
  T.truthy(b.E <= 1.5 + 1e-12 and b.E > 1.4, "bounded E " .. b.E)
  T.raises(function() sl.fit.saturating(x, y, { lower = { F = 0 } }) end,
    "no parameter named 'F'")
  T.raises(function() sl.fit.saturating(x, y, { start = { 1, 2 } }) end,
    "no value for parameter 'b'")
  T.raises(function() sl.fit.saturating(x, y, { start = { 1, 2, 3, 4 } }) end,
    "start has 4 values for 3 parameters")
  T.raises(function() sl.fit.saturating(x, y, { colour = 1 }) end,
    "unknown option 'colour'")
  local c = {}
  for i = 1, 5 do c[i] = 2 end
  T.raises(function() sl.fit.saturating({ 1, 2, 3, 4, 5 }, c) end,
    "all y are equal")
end)

T.test("data errors come through with the core's message", function()
  T.raises(function() sl.fit.powerlaw({ 1, 2, 3, -1 }, { 1, 2, 3, 4 }) end,
    "x = -1 at point 4: power law needs x > 0")
  T.raises(function() sl.fit.powerlaw({ 1, 2 }, { 1, 2, 3 }) end,
    "x has 2 values, y has 3")
  T.raises(function() sl.fit.powerlaw({ 1 }, { 1 }) end, "at least 2 points")
  T.raises(function() sl.fit.powerlaw({ 1, 2, 3 }, { 1, 0 / 0, 3 }) end,
    "at point 2: power law needs y > 0")
  T.raises(function()
    sl.fit.powerlaw({ 1, 2, 3 }, { 1, 2, 3 }, { weights = { 1, 1 } })
  end, "weights has 2 values for 3 observations")
  T.raises(function() sl.fit.powerlaw({ 1, 2, 3 }, { 1, 2, 3 }, 5) end,
    "options must be a table")
  T.raises(function() sl.fit.powerlaw({ 1, 2, 3 }, { 1, 2, 3 }, { tol = -1 }) end,
    "option 'tol' must be > 0")
end)

local function decay_data()
  local x, y = {}, {}
  for i = 1, 40 do
    x[i] = (i - 1) * 0.25
    y[i] = 5 * math.exp(-0.7 * x[i]) + 1.5
  end
  return x, y
end

T.test("nls with a Lua model, with and without a Jacobian", function()
  local x, y = decay_data()
  local calls = 0
  local function model(p, xi)
    calls = calls + 1
    return p[1] * math.exp(-p[2] * xi) + p[3]
  end
  local f = sl.fit.nls { model = model, x = x, y = y, start = { 1, 0.1, 0 } }
  T.eq(f.kind, "nls")
  T.near(f.params[1], 5, 1e-8)
  T.near(f.params[2], 0.7, 1e-8)
  T.near(f.params[3], 1.5, 1e-8)
  T.eq(#f.stderr, 3)
  T.eq(f.converged, true)
  T.truthy(f.iterations > 0 and calls > 0, "iterations")
  T.near(f.predict(1.0), 5 * math.exp(-0.7) + 1.5, 1e-8)
  T.near(f.predict({ 0, 1 })[1], 6.5, 1e-8)
  T.truthy(tostring(f):find("^nls: p = {5, 0.7, 1.5}"), tostring(f))
  local g = sl.fit.nls {
    model = model, x = sl.column(x), y = y, start = { 1, 0.1, 0 },
    jacobian = function(p, xi)
      local e = math.exp(-p[2] * xi)
      return { e, -p[1] * xi * e, 1 }
    end,
  }
  T.near(g.params[2], 0.7, 1e-9)
  T.eq(g.converged, true)
end)

T.test("nls errors: the model's message, bad returns, iteration limit", function()
  local x, y = decay_data()
  local n = 0
  local err = T.raises(function()
    sl.fit.nls { model = function(p, xi)
      n = n + 1
      if n > 50 then error("boom in the model") end
      return p[1] * math.exp(-p[2] * xi) + p[3]
    end, x = x, y = y, start = { 1, 0.1, 0 } }
  end, "boom in the model")
  T.truthy(err:find("model", 1, true), err)
  T.raises(function()
    sl.fit.nls { model = function() return "x" end, x = x, y = y, start = { 1 } }
  end, "model returned a string")
  T.raises(function() sl.fit.nls { x = x, y = y, start = { 1 } } end,
    "field 'model' is required")
  T.raises(function()
    sl.fit.nls { model = print, x = x, y = y, start = { 1 }, wobble = 1 }
  end, "unknown option 'wobble'")
  local f = sl.fit.nls { model = function(p, xi) return p[1] * math.exp(-p[2] * xi) + p[3] end,
    x = x, y = y, start = { 1, 0.1, 0 }, max_iter = 2 }
  T.eq(f.converged, false)
  T.truthy(f.reason:find("iteration limit", 1, true), f.reason)
  T.truthy(tostring(f):find("not converged", 1, true), tostring(f))
end)

T.test("nls with two predictors", function()
  local x1, x2, y = {}, {}, {}
  for i = 1, 30 do
    x1[i], x2[i] = i * 0.3, math.sin(i)
    y[i] = 2 * x1[i] - 0.5 * x2[i] ^ 2
  end
  local f = sl.fit.nls { model = function(p, xi) return p[1] * xi[1] + p[2] * xi[2] ^ 2 end,
    x = { x1, x2 }, y = y, start = { 1, 1 } }
  T.near(f.params[1], 2, 1e-9)
  T.near(f.params[2], -0.5, 1e-9)
  T.near(f.predict({ 1, 1 }), 2 - 0.5, 1e-12)
  T.near(f.predict({ { 1, 2 }, { 0, 2 } })[2], 4 - 2, 1e-9)
end)

T.test("linear fit", function()
  local x1, x2, y = {}, {}, {}
  for i = 1, 25 do
    x1[i], x2[i] = i, math.cos(i)
    y[i] = 1 + 2 * x1[i] - 3 * x2[i]
  end
  local f = sl.fit.linear { X = { x1, x2 }, y = y }
  T.eq(f.kind, "linear")
  T.near(f.coef[1], 1, 1e-12)
  T.near(f.coef[2], 2, 1e-12)
  T.near(f.coef[3], -3, 1e-12)
  T.eq(#f.stderr, 3)
  T.eq(f.intercept, true)
  T.near(f.predict(2, 0.5), 1 + 4 - 1.5, 1e-12)
  T.near(f.predict({ 1, 2 }, { 0, 0 })[2], 5, 1e-12)
  T.eq(tostring(f), "y = 1 + 2 x1 - 3 x2")
  local g = sl.fit.linear { X = x1, y = x1, intercept = false }
  T.near(g.coef[1], 1, 1e-14)
  T.eq(#g.coef, 1)
  local dup = {}
  for i = 1, 25 do dup[i] = 2 * x1[i] end
  T.raises(function() sl.fit.linear { X = { x1, dup }, y = y } end, "rank deficient")
  T.raises(function() sl.fit.linear { X = { x1, { 1, 2 } }, y = y } end,
    "X[2] has 2 values, y has 25")
end)

T.test("poly fit", function()
  local x, y = {}, {}
  for i = 1, 20 do
    x[i] = 100 + i
    y[i] = 3 - 0.5 * x[i] + 0.01 * x[i] ^ 2
  end
  local f = sl.fit.poly(x, y, 2)
  T.eq(f.kind, "poly")
  T.eq(#f.coef, 3)
  T.near(f.coef[1], 3, 1e-7)
  T.near(f.coef[2], -0.5, 1e-8)
  T.near(f.coef[3], 0.01, 1e-8)
  T.near(f.predict(110), 3 - 55 + 121, 1e-10)
  T.truthy(tostring(f):find("x^2", 1, true), tostring(f))
  T.raises(function() sl.fit.poly(x, y, -1) end, "degree must be 0..50")
  T.raises(function() sl.fit.poly({ 1, 1, 1 }, { 1, 2, 3 }, 1) end, "all x are equal")
end)

T.test("bootstrap intervals are seeded", function()
  local x, y = {}, {}
  local s = 1
  for i = 1, 30 do
    s = (s * 1103515245 + 12345) % 2147483648
    x[i] = 10 ^ (3 * (i - 1) / 29)
    y[i] = 2 * x[i] ^ -0.25 * math.exp(0.05 * (s / 2147483648 - 0.5))
  end
  local a = sl.fit.powerlaw(x, y, { bootstrap = 200, seed = 5 })
  local b = sl.fit.powerlaw(x, y, { bootstrap = 200, seed = 5 })
  local c = sl.fit.powerlaw(x, y, { bootstrap = 200, seed = 6, level = 0.5 })
  T.eq(#a.ci.b, 2)
  T.eq(a.ci.b[1], b.ci.b[1])
  T.eq(a.ci.a[2], b.ci.a[2])
  T.truthy(a.ci.b[1] < a.b and a.b < a.ci.b[2], "b inside its interval")
  T.truthy(c.ci.b[2] - c.ci.b[1] < a.ci.b[2] - a.ci.b[1], "50% narrower than 95%")
  local l = sl.fit.linear { X = x, y = y, bootstrap = 50, seed = 1 }
  T.eq(#l.ci, 2)
  T.truthy(l.ci[2][1] < l.coef[2] and l.coef[2] < l.ci[2][2], "linear ci")
  T.raises(function() sl.fit.powerlaw(x, y, { bootstrap = -1 }) end, "must be >= 0")
  T.raises(function() sl.fit.powerlaw(x, y, { level = 2 }) end, "between 0 and 1")
end)

T.test("chinchilla", function()
  local N, D, L = {}, {}, {}
  for i = 0, 24 do
    for j = 0, 9 do
      local n = 7e7 * (16e9 / 7e7) ^ (i / 24)
      local d = n * 20 * 10 ^ ((j - 4.5) / 4.5 * 0.7)
      N[#N + 1], D[#D + 1] = n, d
      L[#L + 1] = 1.69 + 406.4 / n ^ 0.34 + 410.7 / d ^ 0.28
    end
  end
  local f = sl.fit.chinchilla { N = N, D = D, loss = L }
  T.eq(f.kind, "chinchilla")
  T.near(f.E, 1.69, 1e-4)
  T.near(f.A, 406.4, 1e-3)
  T.near(f.B, 410.7, 1e-3)
  T.near(f.alpha, 0.34, 1e-4)
  T.near(f.beta, 0.28, 1e-4)
  T.near(f.a, 0.28 / 0.62, 1e-4)
  T.near(f.b, 0.34 / 0.62, 1e-4)
  T.eq(f.stderr, nil) -- none without a bootstrap
  T.truthy(f.rss < 1e-10, "objective")
  T.near(f.predict(1e9, 2e10), 1.69 + 406.4 / 1e9 ^ 0.34 + 410.7 / 2e10 ^ 0.28, 1e-6)
  T.eq(#f.predict({ 1e9, 1e10 }, 2e10), 2)
  T.truthy(tostring(f):find("^L = 1.69 %+ 406.4 / N%^0.34 %+ 410.7 / D%^0.28"), tostring(f))
  local g = sl.fit.chinchilla { N = N, D = D, loss = L, delta = 1e-2,
    start = { E = 1.5, A = 300, B = 300, alpha = 0.3, beta = 0.3 } }
  T.near(g.alpha, 0.34, 1e-3)
  T.truthy(g.reason:find("1 start", 1, true), g.reason)
  T.raises(function() sl.fit.chinchilla { N = N, D = D } end, "field 'loss' is required")
  T.raises(function() sl.fit.chinchilla { N = N, D = D, loss = { 1 } } end,
    "N, D and loss have")
  T.raises(function() sl.crossover(f, f) end, "not a law of one predictor")
end)

T.test("fits are collected with their handles", function()
  local f = sl.fit.powerlaw(C, moba)
  local p = f.predict
  f = nil
  collectgarbage()
  collectgarbage()
  T.near(p(1), 1.546, 1e-9) -- the closure keeps the handle alive
end)

os.exit(T.done("fit"), true) -- close the state: every fit is freed
