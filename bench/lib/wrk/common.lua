-- Shared by the bench scripts: the users of the data file written by bench/lib/wrk.ts (writeWrkData), one a line:
-- token, api key, api secret, user id, instance ids joined by commas.
local common = {}

common.V1 = "/api/compute/v1"

function common.load(file)
  local users = {}
  local f = assert(io.open(file, "r"))
  for line in f:lines() do
    local token, key, secret, userId, ids = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)$")
    if token then
      local list = {}
      for id in ids:gmatch("[^,]+") do list[#list + 1] = id end
      users[#users + 1] = { token = token, key = key, secret = secret, userId = userId, ids = list, bearer = "Bearer " .. token }
    end
  end
  f:close()
  assert(#users > 0, "no users in " .. file)
  return users
end

-- A different sequence in every run (and thread).
function common.seed()
  local seed = os.time()
  local urandom = io.open("/dev/urandom", "rb")
  if urandom then
    local bytes = urandom:read(4)
    urandom:close()
    seed = 0
    for i = 1, 4 do seed = seed * 256 + bytes:byte(i) end
  end
  math.randomseed(seed)
end

-- What every script's init does first: a fresh random sequence, and the users of the data file (args[1]), kept for
-- randomUser() and returned.
function common.init(args)
  common.seed()
  common.users = common.load(args[1])
  return common.users
end

-- A user of the data file at random, and one of that user's instances at random.
function common.randomUser()
  return common.users[math.random(#common.users)]
end

function common.instancePath(user)
  return common.V1 .. "/instances/" .. user.ids[math.random(#user.ids)]
end

-- A random UUID-shaped string (version 4 layout), for Idempotency-Key.
function common.uuid()
  return (string.gsub("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", "[xy]", function(c)
    local v = (c == "x") and math.random(0, 15) or math.random(8, 11)
    return string.format("%x", v)
  end))
end

-- Counters reported by done(): each thread keeps its own, summed over the threads saved by setup().
local threads = {}
function common.setup(thread) threads[#threads + 1] = thread end
function common.report(names)
  local parts = {}
  for _, name in ipairs(names) do
    local total = 0
    for _, thread in ipairs(threads) do total = total + (tonumber(thread:get(name)) or 0) end
    parts[#parts + 1] = string.format('"%s":%d', name, total)
  end
  io.write("WRK-COUNTERS {" .. table.concat(parts, ",") .. "}\n")
end

return common
