-- GET /api/compute/v1/instances/{id}: a random user, one of their instances at random, their credential.
-- init args: data file, then "bearer" (Authorization) or "api-key" (api-key and api-secret).
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")
local users, apiKey

function init(args)
  users = common.init(args)
  apiKey = args[2] == "api-key"
end

function request()
  local user = users[math.random(#users)]
  local path = common.V1 .. "/instances/" .. user.ids[math.random(#user.ids)]
  if apiKey then return wrk.format("GET", path, { ["api-key"] = user.key, ["api-secret"] = user.secret }) end
  return wrk.format("GET", path, { ["Authorization"] = user.bearer })
end
