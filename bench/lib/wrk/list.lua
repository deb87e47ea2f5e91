-- GET /api/compute/v1/instances: a random user's list, with their token. init args: data file.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")

init = common.init

function request()
  return wrk.format("GET", common.V1 .. "/instances", { ["Authorization"] = common.randomUser().bearer })
end
