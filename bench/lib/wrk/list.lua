-- GET /api/compute/v1/instances: a random user's list, with their token. init args: data file.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")
local users

function init(args)
  users = common.init(args)
end

function request()
  local user = users[math.random(#users)]
  return wrk.format("GET", common.V1 .. "/instances", { ["Authorization"] = user.bearer })
end
