-- GET /api/v1/spaces/{id}/availability for a random space and a random 7-day window within ±120 days.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

function request()
  local space = math.random(space_min, space_max)
  local start = os.time() + math.random(-120, 120) * 86400
  local path = string.format("/api/v1/spaces/%d/availability?start=%sT00:00:00%%2B00:00&end=%sT00:00:00%%2B00:00",
    space, os.date("!%Y-%m-%d", start), os.date("!%Y-%m-%d", start + 7 * 86400))
  return wrk.format("GET", path, {["Host"] = host, ["Authorization"] = "Bearer " .. token})
end
