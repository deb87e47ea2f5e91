-- GET /api/compute/v1/instances/{id}: a random user, one of their instances at random, their credential.
-- init args: data file, then "bearer" (Authorization) or "api-key" (api-key and api-secret).
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")
local apiKey

function init(args)
  common.init(args)
  apiKey = args[2] == "api-key"
end

function request()
  local user = common.randomUser()
  local path = common.instancePath(user)
  if apiKey then return wrk.format("GET", path, { ["api-key"] = user.key, ["api-secret"] = user.secret }) end
  return wrk.format("GET", path, { ["Authorization"] = user.bearer })
end
