-- GET /api/v1/spaces/{id}/availability over a bounded set of keys that repeat, as calendars that poll do:
-- one of the first 40 spaces and one of 5 coming weeks (Monday to Monday), so after a warm-up most answers
-- come from SpaceManager's versioned cache. The yardstick has no cache: it does the full work every time.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

function request()
  local space = space_min + math.random(0, 39)
  local now = os.time()
  local weekday = (tonumber(os.date("!%w", now)) + 6) % 7  -- 0 = Monday
  local monday = now - weekday * 86400 + math.random(1, 5) * 7 * 86400
  local path = string.format("/api/v1/spaces/%d/availability?start=%sT00:00:00%%2B00:00&end=%sT00:00:00%%2B00:00",
    space, os.date("!%Y-%m-%d", monday), os.date("!%Y-%m-%d", monday + 7 * 86400))
  return wrk.format("GET", path, {["Host"] = host, ["Authorization"] = "Bearer " .. token})
end
