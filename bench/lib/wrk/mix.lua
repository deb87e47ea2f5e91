-- 90% GET /instances/{id}, 5% POST .../reset, 5% POST .../start, each for a random user's random instance.
-- init args: data file.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")

init = common.init

function request()
  local user = common.randomUser()
  local path = common.instancePath(user)
  local roll = math.random()
  if roll < 0.9 then return wrk.format("GET", path, { ["Authorization"] = user.bearer }) end
  return wrk.format("POST", path .. (roll < 0.95 and "/reset" or "/start"), { ["Authorization"] = user.bearer })
end
