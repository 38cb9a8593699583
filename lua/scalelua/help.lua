-- scalelua.help: one-line documentation of the public functions.
local M = {}

M.docs = {
  read_csv = "sl.read_csv(path | {paths}, opts) -> Table. opts: delimiter, quote, header, columns, types, na, max_field, threads, file_column. path may be a glob or '-'.",
  read_csv_string = "sl.read_csv_string(text, opts, name) -> Table, from CSV text in memory.",
  csv_records = "sl.csv_records(path, opts) -> iterator over records (arrays of strings), header first.",
  table = "sl.table{name = Column|array, ...} -> a new Table.",
  column = "sl.column(array, name) -> a new Column.",
  envelope = "sl.envelope(curves | Table, opts) -> Table {x, y, curve}, excluded. opts: x, y, by (with a Table), grid (1500), mode ('grid'|'points').",
  flops_6nd = "sl.flops_6nd(params, tokens) -> 6*N*D training FLOPs.",
  pflops_days = "sl.pflops_days(flops) -> flops / 8.64e19.",
  crossover = "sl.crossover(f, g) -> the x where two fitted laws meet, or nil.",
  compute_ratio = "sl.compute_ratio(f, g, y) -> x_f(y) / x_g(y): how much more compute law f needs than g to reach y.",
  experiment = "sl.experiment{data=, read=, where=, compute={params=, tokens=, flops='6ND', unit='pflops_days'}, derive=, x=, y=, series=, curve=, smooth={ema=|trailing=|proportional=}, envelope=true|{grid=, mode=}, fit='powerlaw'|{law=, range=, bootstrap=, seed=}, labels=} -> Experiment (exp:report(), exp:get(name), exp:fits()).",
  chart = "sl.chart{data=exp, title=, x={label=, log=, min=, max=}, y={...}, style={series={color=, width=, dash=, label=}}, layers={'curves', 'envelope', projection={range=, legend='%s Projection'}}, legend='upper right', size={w, h}, dpi=, font=, output='fig.png'|{...}}.",
  figure = "sl.figure{panels={chart, ...}, rows=, cols=, size=, dpi=, font=, title=, output=}: several charts in a grid.",
  ["fit.powerlaw"] = "sl.fit.powerlaw(x, y, opts) -> {a, b, stderr, rss, r2, n, predict}: y = a*x^b; opts.method = 'log' (default, least squares on log-log) or 'nls'; weights, bootstrap, seed, level.",
  ["fit.saturating"] = "sl.fit.saturating(x, y, opts) -> {E, a, b, ...}: y = E + a*x^b by Levenberg-Marquardt from a grid of starts; lower, upper bounds.",
  ["fit.nls"] = "sl.fit.nls{model = function(p, x) ... end, x=, y=, start={...}} -> {params, stderr, rss, iterations, converged}.",
  ["fit.linear"] = "sl.fit.linear{X = {col, ...}, y=, intercept=true} -> {coef, stderr, rss, r2} by Householder QR.",
  ["fit.poly"] = "sl.fit.poly(x, y, degree) -> {coef, stderr, rss, r2}.",
  ["fit.chinchilla"] = "sl.fit.chinchilla{N=, D=, loss=, delta=1e-3} -> {E, A, B, alpha, beta, a, b}: Hoffmann et al. Approach 3 (Huber on log loss, L-BFGS from 4,500 starts).",
}

-- help() lists everything; help(f) or help("name") prints one entry.
function M.help(sl, what)
  if what == nil then
    local names = {}
    for k in pairs(M.docs) do names[#names + 1] = k end
    table.sort(names)
    local out = { "scalelua " .. sl.version .. ": help(name) for one of:" }
    for _, k in ipairs(names) do out[#out + 1] = "  sl." .. k end
    print(table.concat(out, "\n"))
    return
  end
  if type(what) ~= "string" then
    for k in pairs(M.docs) do
      local f = sl
      for part in k:gmatch("[^.]+") do f = f and f[part] end
      if f == what then what = k; break end
    end
  end
  local d = M.docs[tostring(what):gsub("^sl%.", "")]
  print(d or ("no help for " .. tostring(what)))
end

return M
