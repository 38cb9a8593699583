-- scalelua.pretty: readable previews of values, for the REPL and recipes.
local M = {}

local function key_repr(k)
  if type(k) == "string" and k:match("^[%a_][%w_]*$") then return k end
  return "[" .. M.repr(k, 0) .. "]"
end

-- A one-value preview: nested tables to `depth` levels, long ones elided.
function M.repr(v, depth, seen)
  depth = depth or 2
  local tv = type(v)
  if tv == "string" then return string.format("%q", v) end
  if tv == "number" then
    if math.type(v) == "integer" then return tostring(v) end
    return string.format("%.10g", v)
  end
  if tv ~= "table" then return tostring(v) end
  local mt = getmetatable(v)
  if mt and mt.__tostring then return tostring(v) end
  seen = seen or {}
  if seen[v] then return "{...}" end
  if depth <= 0 then return "{...}" end
  seen[v] = true
  local parts, n = {}, #v
  for i = 1, math.min(n, 10) do parts[#parts + 1] = M.repr(v[i], depth - 1, seen) end
  if n > 10 then parts[#parts + 1] = "... (" .. n .. " items)" end
  local keys = {}
  for k in pairs(v) do
    if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
  end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  for i, k in ipairs(keys) do
    if i > 20 then parts[#parts + 1] = "..."; break end
    parts[#parts + 1] = key_repr(k) .. " = " .. M.repr(v[k], depth - 1, seen)
  end
  seen[v] = nil
  return "{" .. table.concat(parts, ", ") .. "}"
end

-- print(...) with previews: what the REPL uses to show results.
function M.print(...)
  local n = select("#", ...)
  local out = {}
  for i = 1, n do out[i] = M.repr((select(i, ...))) end
  io.stdout:write(table.concat(out, "\t"), "\n")
end

return M
