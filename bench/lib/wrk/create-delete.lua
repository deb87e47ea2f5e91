-- POST /api/compute/v1/instances, then DELETE of the instance it created. With -t1 one thread drives every
-- connection: the id of each 201 is parsed out of its body (response()) and queued, and the next request of any
-- connection deletes the oldest queued instance before a new one is created. So about half the requests are POSTs;
-- the POSTs are counted (done() reports them) for creates/s. init args: data file.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")
local byUser
local queue, head, tail = {}, 1, 0
posts, deletes, created, deleted = 0, 0, 0, 0

function setup(thread) common.setup(thread) end

function init(args)
  local users = common.init(args)
  byUser = {}
  for _, user in ipairs(users) do byUser[user.userId] = user end
end

function request()
  if head <= tail then
    local entry = queue[head]
    queue[head] = nil
    head = head + 1
    deletes = deletes + 1
    return wrk.format("DELETE", common.V1 .. "/instances/" .. entry.id, { ["Authorization"] = entry.user.bearer })
  end
  local user = common.randomUser()
  posts = posts + 1
  return wrk.format("POST", common.V1 .. "/instances", {
    ["Authorization"] = user.bearer,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = common.uuid(),
  }, '{"template_id":"debian-12-micro"}')
end

function response(status, headers, body)
  if status == 201 then
    created = created + 1
    local id = body:match('"id":"([^"]+)"')
    local user = byUser[body:match('"userId":"([^"]+)"')]
    if id and user then
      tail = tail + 1
      queue[tail] = { id = id, user = user }
    end
  elseif status == 204 then
    deleted = deleted + 1
  end
end

function done(summary, latency, requests)
  common.report({ "posts", "deletes", "created", "deleted" })
end
