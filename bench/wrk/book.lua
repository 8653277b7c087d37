-- POST /api/v1/reservations: each request books a random 30/60-minute slot of a random space on a random
-- weekday 1-300 days ahead, between 08:00 and 19:30 UTC: inside every opening-hours pattern seed_demo uses
-- (the bench organization's time zone is UTC). A few collide with earlier bookings (409), as in life.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

wrk.method = "POST"

function request()
  local space = math.random(space_min, space_max)
  local day = os.time() + math.random(1, 300) * 86400
  local weekday = os.date("!*t", day).wday  -- 1 = Sunday, 7 = Saturday
  if weekday == 1 then day = day + 86400 elseif weekday == 7 then day = day + 2 * 86400 end
  local hour = math.random(8, 18)
  local minute = math.random(0, 1) * 30
  local length = math.random(1, 2) * 30
  local starts = string.format("%sT%02d:%02d:00+00:00", os.date("!%Y-%m-%d", day), hour, minute)
  local end_minutes = hour * 60 + minute + length
  local ends = string.format("%sT%02d:%02d:00+00:00", os.date("!%Y-%m-%d", day), math.floor(end_minutes / 60), end_minutes % 60)
  local body = string.format(
    '{"space": %d, "starts_at": "%s", "ends_at": "%s", "title": "Bench", "attendees": 1}', space, starts, ends)
  return wrk.format("POST", "/api/v1/reservations", {
    ["Host"] = host,
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, body)
end
