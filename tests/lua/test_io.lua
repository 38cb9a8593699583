-- Machine-readable output: t:write_csv, sl.to_json / write_json / from_json
-- and experiment{results = ...}.  Numbers must come back bit for bit, both
-- through cJSON (sl.from_json) and through the small reader below, which
-- shares no code with the library.
local T = dofile("tests/lua/testlib.lua")
local sl = require "scalelua"

local dir = T.tmpdir()

local function bits(v) return string.pack("<d", v) end
local function same(a, b) return bits(a) == bits(b) end

-- xorshift64 over Lua integers: random doubles from random bit patterns
local state = 0x2545F4914F6CDD1D
local function next_bits()
  state = state ~ (state << 13)
  state = state ~ (state >> 7)
  state = state ~ (state << 17)
  return state
end
local function random_double()
  local v = string.unpack("<d", string.pack("<i8", next_bits()))
  if v ~= v or v == math.huge or v == -math.huge then v = (next_bits() >> 11) * 2.0 ^ -53 end
  return v
end

local SPECIAL = { 0.1 + 0.2, 1 / 3, -0.0, 0.0, 5e-324, 1.7976931348623157e308,
  -2.2250738585072014e-308, 1e22, 9007199254740993.0, 2.5e-308, 1.5468,
  123456.789e10, 100.0, 2 ^ 63, -2 ^ 63, 1e-7 }

-- A tiny JSON reader (RFC 8259 values; numbers through tonumber).
local function json_read(s)
  local pos = 1
  local function ws() pos = s:find("[^ \t\r\n]", pos) or #s + 1 end
  local value
  local function str()
    local out = {}
    pos = pos + 1
    while true do
      local c = s:sub(pos, pos)
      if c == '"' then pos = pos + 1; return table.concat(out) end
      if c == "" then error("unterminated string") end
      if c == "\\" then
        local e = s:sub(pos + 1, pos + 1)
        local map = { b = "\b", f = "\f", n = "\n", r = "\r", t = "\t", ['"'] = '"',
          ["\\"] = "\\", ["/"] = "/" }
        if e == "u" then
          local cp = tonumber(s:sub(pos + 2, pos + 5), 16)
          if cp >= 0xD800 and cp <= 0xDBFF then
            local lo = tonumber(s:sub(pos + 8, pos + 11), 16)
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
            pos = pos + 6
          end
          out[#out + 1] = utf8.char(cp)
          pos = pos + 6
        else
          out[#out + 1] = assert(map[e], "bad escape")
          pos = pos + 2
        end
      else
        out[#out + 1] = c
        pos = pos + 1
      end
    end
  end
  function value()
    ws()
    local c = s:sub(pos, pos)
    if c == "{" then
      local o = {}
      pos = pos + 1
      ws()
      if s:sub(pos, pos) == "}" then pos = pos + 1; return o end
      while true do
        ws()
        local k = str()
        ws()
        assert(s:sub(pos, pos) == ":", "colon expected at " .. pos)
        pos = pos + 1
        o[k] = value()
        ws()
        local d = s:sub(pos, pos)
        pos = pos + 1
        if d == "}" then return o end
        assert(d == ",", "comma expected at " .. pos)
      end
    elseif c == "[" then
      local a = { n = 0 }
      pos = pos + 1
      ws()
      if s:sub(pos, pos) == "]" then pos = pos + 1; return a end
      while true do
        a.n = a.n + 1
        a[a.n] = value()
        ws()
        local d = s:sub(pos, pos)
        pos = pos + 1
        if d == "]" then return a end
        assert(d == ",", "comma expected at " .. pos)
      end
    elseif c == '"' then
      return str()
    elseif s:sub(pos, pos + 3) == "true" then pos = pos + 4; return true
    elseif s:sub(pos, pos + 4) == "false" then pos = pos + 5; return false
    elseif s:sub(pos, pos + 3) == "null" then pos = pos + 4; return nil
    end
    local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
    assert(num and #num > 0, "value expected at " .. pos)
    pos = pos + #num
    local v = assert(tonumber(num), num)
    if v == 0 and num:sub(1, 1) == "-" then v = -0.0 end -- tonumber("-0") is 0
    return v
  end
  local v = value()
  ws()
  assert(pos == #s + 1, "text after the value at " .. pos)
  return v
end

local function slurp(p)
  local f = assert(io.open(p, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

T.test("CSV round-trips through read_csv bit for bit", function()
  local x, names = {}, {}
  local odd = { "plain", "with,comma", 'with "quotes"', "two\nlines", "cr\rhere",
    " spaced ", "NA", "caf\u{e9}", '"', 'a,"b"\r\n' }
  for i = 1, 3000 do
    x[i] = SPECIAL[i] or random_double()
    names[i] = odd[i] or ("run-" .. (i % 41))
  end
  x[#SPECIAL + 1], x[#SPECIAL + 2], x[#SPECIAL + 3] = 0 / 0, math.huge, -math.huge
  local t = sl.table { x = x, name = names }
  local path = dir .. "/t.csv"
  T.eq(t:write_csv(path), path)
  local back = sl.read_csv(path)
  T.eq(#back, 3000)
  local bad = 0
  for i = 1, 3000 do
    local v = back.x[i]
    if x[i] ~= x[i] then
      if v == v then bad = bad + 1 end
    elseif not same(v, x[i]) then
      bad = bad + 1
    end
    if back.name[i] ~= names[i] then bad = bad + 1 end
  end
  T.eq(bad, 0, "values that changed")
  -- sl.write_csv is the same function
  sl.write_csv(t:head(2), path)
  T.eq(slurp(path), "name,x\nplain,0.30000000000000004\n\"with,comma\",0.3333333333333333\n")
end)

T.test("CSV errors name the path; the old file survives", function()
  local t = sl.table { a = { 1, 2 } }
  local err = T.raises(function() t:write_csv(dir .. "/no/such/x.csv") end, "no/such/x.csv")
  T.truthy(err:find("No such file", 1, true), err)
  T.raises(function() t:write_csv() end, "bad argument #1 to 'write_csv'")
  T.raises(function() sl.write_csv({}, "x.csv") end, "bad argument #1")
  local path = dir .. "/keep.csv"
  t:write_csv(path)
  T.raises(function() t:write_csv(dir) end, dir)
  T.eq(slurp(path), "a\n1\n2\n")
  local p = io.popen("ls -a " .. dir)
  local listing = p:read("a")
  p:close()
  T.truthy(not listing:find(".tmp-", 1, true), "no temporary left: " .. listing)
end)

T.test("to_json numbers round-trip exactly (cJSON and an independent reader)", function()
  local v = {}
  for i = 1, 2000 do v[i] = SPECIAL[i] or random_double() end
  local text = sl.to_json(v)
  local a = sl.from_json(text)
  local b = json_read(text)
  local bad = 0
  for i = 1, #v do
    if not (a[i] == v[i] and b[i] == v[i]) then bad = bad + 1 end
    if v[i] == 0 and not (same(a[i] * 1.0, v[i]) and same(b[i] * 1.0, v[i])) then
      bad = bad + 1 -- the sign of zero
    end
  end
  T.eq(bad, 0, "numbers that changed")
  T.eq(#a, #v)
  -- integers stay integers; NaN and infinities are null
  T.eq(sl.to_json({ 1, -2, math.maxinteger, 0 / 0, math.huge, 2.5 }),
    "[1,-2,9223372036854775807,null,null,2.5]")
  local back = sl.from_json("[1, 2.5, -0, 1e300, 12345678901234567890]")
  T.eq(math.type(back[1]), "integer")
  T.eq(math.type(back[3]), "float")
  T.truthy(1 / back[3] < 0, "-0 keeps its sign")
  T.eq(back[4], 1e300)
  T.eq(back[5], 12345678901234567890.0)
end)

T.test("to_json structure: objects, arrays, strings, Tables, Columns, fits", function()
  local t = sl.table { run = { "a", "b\"q" }, loss = { 1.5, 0 / 0 } }
  local doc = { z = 1, a = { true, false }, s = "line\nnext\t\1 caf\u{e9}", t = t,
    col = t.loss, empty = {}, arr = setmetatable({}, { __jsontype = "array" }),
    [3] = "three", f = function() end }
  local text = sl.to_json(doc)
  T.eq(text, '{"3":"three","a":[true,false],"arr":[],"col":[1.5,null],"empty":{},'
    .. '"s":"line\\nnext\\t\\u0001 caf\u{e9}","t":{"loss":[1.5,null],"run":["a","b\\"q"]},"z":1}')
  local r = json_read(text)
  T.eq(r.s, doc.s)
  T.eq(r.t.run[2], 'b"q')
  T.eq(sl.from_json(text).t.run[2], 'b"q')
  -- invalid UTF-8 becomes U+FFFD
  T.eq(sl.to_json("a\255b"), [["a\ufffdb"]])
  T.eq(sl.from_json(sl.to_json("a\255b")), "a\u{fffd}b")
  -- a fit encodes as its fields (predict, a function, is left out)
  local x, y = {}, {}
  for i = 1, 30 do x[i] = i / 3; y[i] = 2.5 * (i / 3) ^ -0.2 * (1 + 0.01 * math.sin(i)) end
  local f = sl.fit.powerlaw(x, y)
  local jf = sl.from_json(sl.to_json(f))
  T.eq(jf.kind, "powerlaw")
  T.truthy(same(jf.a, f.a) and same(jf.b, f.b), "a and b exact")
  T.truthy(same(jf.stderr.b, f.stderr.b), "stderr exact")
  T.eq(jf.predict, nil)
  T.eq(jf.n, 30)
  -- indenting
  local pretty = sl.to_json({ a = { 1, 2 }, b = { c = "d" } }, { indent = 2 })
  T.eq(pretty, '{\n  "a": [1, 2],\n  "b": {\n    "c": "d"\n  }\n}')
  -- __tojson replaces a value
  local obj = setmetatable({ secret = 1 }, { __tojson = function(o) return { shown = o.secret + 1 } end })
  T.eq(sl.to_json({ obj }), '[{"shown":2}]')
end)

T.test("to_json errors say where", function()
  local loop = {}
  loop.me = loop
  T.raises(function() sl.to_json({ a = { loop } }) end, "to_json: value.a[1].me: a cycle")
  T.raises(function() sl.to_json({ a = { coroutine.create(print) } }) end,
    "value.a[1]: cannot encode a thread")
  T.raises(function() sl.to_json({ print }) end, "value[1]: cannot encode a function")
  T.raises(function() sl.to_json({ [1] = "x", ["1"] = "y", k = 1 }) end, "two keys with the same text")
  T.raises(function() sl.to_json({ [true] = 1 }) end, "a key of type boolean")
  T.raises(function() sl.to_json(setmetatable({ a = 1 }, { __jsontype = "array" })) end,
    "__jsontype is \"array\"")
  T.raises(function() sl.to_json(1, { indent = 99 }) end, "indent")
  T.raises(function() sl.to_json(1, { indnt = 2 }) end, "unknown option 'indnt'")
  local deep = {}
  local cur = deep
  for _ = 1, 600 do cur[1] = {}; cur = cur[1] end
  T.raises(function() sl.to_json(deep) end, "nested too deeply")
  local again = setmetatable({}, {})
  getmetatable(again).__tojson = function() return setmetatable({}, getmetatable(again)) end
  T.raises(function() sl.to_json(again) end, "__tojson keeps")
end)

T.test("from_json: nulls, errors with line and column", function()
  local v = sl.from_json('{"a": null, "b": [1, null, 3]}')
  T.eq(v.a, nil)
  T.eq(v.b[3], 3)
  local w = sl.from_json('[null, 1]', { null = 0 / 0 })
  T.truthy(w[1] ~= w[1], "null as NaN")
  T.raises(function() sl.from_json('{\n  "a": [1, 2,]\n}', { name = "x.json" }) end,
    "from_json: x.json:2:")
  T.raises(function() sl.from_json('{"a": 1} extra') end, "text after the value")
  T.raises(function() sl.from_json('') end, "invalid JSON")
  T.raises(function() sl.from_json('[1]', { nul = 1 }) end, "unknown option 'nul'")
end)

T.test("write_json writes atomically; errors name the path", function()
  local p = dir .. "/doc.json"
  T.eq(sl.write_json(p, { a = { 1.25, 0.1 + 0.2 }, b = "x" }), p)
  local text = slurp(p)
  T.eq(text, '{\n  "a": [1.25, 0.30000000000000004],\n  "b": "x"\n}\n')
  T.eq(sl.write_json(p, { 1 }, { indent = 0 }), p)
  T.eq(slurp(p), "[1]\n")
  local err = T.raises(function() sl.write_json(dir .. "/nope/doc.json", {}) end, "nope/doc.json")
  T.truthy(err:find("write_json", 1, true), err)
  T.raises(function() sl.write_json(p, { print }) end, "write_json: value[1]")
  T.eq(slurp(p), "[1]\n")
end)

T.test("experiment{results=} writes laws, envelopes and crossovers", function()
  local log = dir .. "/log.csv"
  local f = assert(io.open(log, "w"))
  f:write("run,method,params,tokens,loss\n")
  for _, m in ipairs({ { "a", 2.0, -0.1 }, { "b", 1.8, -0.08 } }) do
    for r, N in ipairs({ 1e8, 2e8 }) do
      for k = 1, 30 do
        local D = 20 * N * k / 30
        local C = 6 * N * D / 8.64e19
        f:write(string.format("%s%d,%s,%.17g,%.17g,%.17g\n", m[1], r, m[1], N, D,
          m[2] * C ^ m[3] * (1 + 0.3 / k)))
      end
    end
  end
  f:close()
  local out = dir .. "/out"
  os.execute("mkdir -p " .. out)
  sl.outdir = out
  local e = sl.experiment { data = log, compute = {}, y = "loss", series = "method",
    curve = "run", envelope = { grid = 200 }, fit = "powerlaw", results = "res.json" }
  sl.outdir = nil
  T.eq(e.results_file, out .. "/res.json")
  local r = sl.from_json(slurp(out .. "/res.json"))
  local r2 = json_read(slurp(out .. "/res.json"))
  T.eq(r.x, "compute")
  T.eq(r.y, "loss")
  T.eq(#r.series, 2)
  for i, s in ipairs(e.series) do
    local js = r.series[i]
    T.eq(js.name, s.name)
    T.eq(js.law, tostring(s.fit))
    T.truthy(same(js.fit.a, s.fit.a) and same(js.fit.b, s.fit.b), "law exact")
    T.truthy(same(r2.series[i].fit.b, s.fit.b), "law exact (independent reader)")
    T.eq(#js.envelope.x, s.envelope:nrows())
    local ex, ey = s.envelope.x, s.envelope.y
    local bad = 0
    for k = 1, #ex do
      if not (same(js.envelope.x[k], ex[k]) and same(js.envelope.y[k], ey[k])) then bad = bad + 1 end
    end
    T.eq(bad, 0, "envelope points")
    T.eq(js.envelope.curve[1]:sub(1, 1), s.name)
    T.eq(js.curves, 2)
  end
  T.eq(#r.crossovers, 1)
  local xc = sl.crossover(e.series[1].fit, e.series[2].fit)
  T.truthy(same(r.crossovers[1].x, xc), "crossover exact")
  T.eq(r.crossovers[1].a, "a")
  -- the experiment itself encodes as its results
  T.eq(sl.to_json(e), sl.to_json(e:results()))
  -- validation happens before any work
  local line = debug.getinfo(1, "l").currentline + 1
  local err = T.raises(function() sl.experiment { data = log, compute = {}, y = "loss", results = "r.txt" } end,
    "experiment.results: 'r.txt': expected a .json file name")
  T.truthy(err:find("test_io.lua:" .. line, 1, true), err)
  T.raises(function() sl.experiment { data = log, compute = {}, y = "loss", results = 3 } end,
    "experiment.results: expected string")
end)

os.execute("rm -rf " .. dir)
os.exit(T.done("test_io"), true)
