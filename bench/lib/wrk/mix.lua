-- 90% GET /instances/{id}, 5% POST .../reset, 5% POST .../start, each for a random user's random instance.
-- init args: data file.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")
local users

function init(args)
  users = common.init(args)
end

function request()
  local user = users[math.random(#users)]
  local path = common.V1 .. "/instances/" .. user.ids[math.random(#user.ids)]
  local roll = math.random()
  if roll < 0.9 then return wrk.format("GET", path, { ["Authorization"] = user.bearer }) end
  return wrk.format("POST", path .. (roll < 0.95 and "/reset" or "/start"), { ["Authorization"] = user.bearer })
end
