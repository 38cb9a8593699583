-- testlib.lua: the little test library of the Lua tests.
--   local T = dofile("tests/lua/testlib.lua")
--   T.test("name", function() T.eq(1 + 1, 2) end)
--   os.exit(T.done("suite"))   -- prints "suite: N passed, N failed"
local T = {}
local passed, failed = 0, 0

local function fmt(v)
  if type(v) == "string" then return string.format("%q", v) end
  if math.type(v) == "float" then return string.format("%.17g", v) end
  return tostring(v)
end

local function fail(msg, level)
  error(msg, (level or 1) + 2)
end

function T.test(name, fn)
  local ok, err = xpcall(fn, debug.traceback)
  if ok then
    passed = passed + 1
  else
    failed = failed + 1
    print("FAIL " .. name .. ": " .. tostring(err))
  end
end

function T.eq(got, want, what)
  if got ~= want then
    fail(string.format("%sgot %s, want %s", what and (what .. ": ") or "",
      fmt(got), fmt(want)))
  end
end

-- |got - want| <= rel * max(|got|, |want|)  (rel defaults to 1e-12)
function T.near(got, want, rel, what)
  rel = rel or 1e-12
  local scale = math.max(math.abs(got), math.abs(want), 1e-300)
  if type(got) ~= "number" or not (math.abs(got - want) <= rel * scale) then
    fail(string.format("%sgot %s, want %s (rel %g)", what and (what .. ": ") or "",
      fmt(got), fmt(want), rel))
  end
end

function T.truthy(v, what)
  if not v then fail((what or "value") .. " is " .. fmt(v)) end
end

-- fn must raise an error whose message contains `pattern` (plain text).
function T.raises(fn, pattern)
  local ok, err = pcall(fn)
  if ok then fail("no error raised (wanted '" .. tostring(pattern) .. "')") end
  err = tostring(err)
  if pattern and not err:find(pattern, 1, true) then
    fail("error '" .. err .. "' does not contain '" .. pattern .. "'")
  end
  return err
end

-- A fresh temporary directory (removed at exit by the caller if wanted).
function T.tmpdir()
  local p = io.popen("mktemp -d")
  local d = p:read("l")
  p:close()
  return d
end

function T.done(name)
  print(string.format("%s: %d passed, %d failed", name, passed, failed))
  return failed == 0 and 0 or 1
end

return T
