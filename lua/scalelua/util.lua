-- scalelua.util: validation helpers shared by the Lua layer.
local M = {}
-- Kept from load time: `scalelua --safe` takes the debug library away
-- from recipes.
local getinfo = debug.getinfo

-- Edit distance, for "did you mean" suggestions.
local function distance(a, b)
  local prev, cur = {}, {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    cur[0] = i
    for j = 1, #b do
      local cost = a:sub(i, i) == b:sub(j, j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev, cur = cur, prev
  end
  return prev[#b]
end
M.distance = distance

-- The closest name in list to word, if it is close enough to be a typo.
function M.suggest(word, list)
  local best, bestd
  for _, name in ipairs(list) do
    local d = distance(word:lower(), name:lower())
    if not bestd or d < bestd then best, bestd = name, d end
  end
  if best and bestd <= math.max(2, #word // 3) then return best end
  return nil
end

-- Raise, at the given stack level, for any key of t not in allowed.
function M.check_fields(t, allowed, what, level)
  if type(t) ~= "table" then
    error(string.format("%s: expected a table, got %s", what, type(t)), level + 1)
  end
  local set = {}
  for _, k in ipairs(allowed) do set[k] = true end
  for k in pairs(t) do
    if not set[k] then
      local msg = string.format("%s: unknown field '%s'", what, tostring(k))
      local s = type(k) == "string" and M.suggest(k, allowed)
      if s then msg = msg .. string.format(" (did you mean '%s'?)", s) end
      error(msg, level + 1)
    end
  end
end

-- Raise unless v has one of the given Lua types (names joined by '|').
function M.check_type(v, types, what, level)
  for ty in types:gmatch("[^|]+") do
    if type(v) == ty then return v end
  end
  error(string.format("%s: expected %s, got %s", what, types:gsub("|", " or "),
    type(v)), level + 1)
end

local function mtname(v)
  local mt = getmetatable(v)
  return type(mt) == "table" and rawget(mt, "__name") or nil
end
function M.is_table(v) return type(v) == "userdata" and mtname(v) == "scalelua.Table" end
function M.is_column(v) return type(v) == "userdata" and mtname(v) == "scalelua.Column" end

-- Directory of the Lua chunk `level` frames up ("" for the current one).
function M.caller_dir(level)
  local info = getinfo(level + 1, "S")
  local src = info and info.source or ""
  if src:sub(1, 1) ~= "@" then return "" end
  return src:sub(2):match("^(.*)/[^/]*$") or ""
end

function M.is_absolute(p) return p:sub(1, 1) == "/" end

function M.join(dir, p)
  if dir == "" or dir == nil or M.is_absolute(p) then return p end
  return dir .. "/" .. p
end

-- The recipe line `level` frames up, as "file:line" (for messages).
function M.where(level)
  local info = getinfo(level + 1, "Sl")
  if not info then return "?" end
  return (info.short_src or "?") .. ":" .. (info.currentline or 0)
end

return M
