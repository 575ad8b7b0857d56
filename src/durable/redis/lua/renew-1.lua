-- renew: extend the leases of the runs a worker holds; tells it which ones it lost or which
-- were canceled.
-- KEYS[1] leases zset
-- ARGV[1] P   ARGV[2] now ms   ARGV[3] lease ms   ARGV[4..] pairs: run id, lease token
-- Returns one code per pair: 1 renewed, 0 lost (lease taken over or run not running), 2 canceled.
--@include common
local untilMs = tonumber(ARGV[2]) + tonumber(ARGV[3])
local out = {}
for i = 4, #ARGV, 2 do
  local id = ARGV[i]
  local r = redis.call('HMGET', k_run(id), 'status', 'lease')
  if r[1] == 'running' and r[2] == ARGV[i + 1] then
    redis.call('ZADD', KEYS[1], untilMs, id)
    table.insert(out, 1)
  elseif r[1] == 'canceled' then
    table.insert(out, 2)
  else
    table.insert(out, 0)
  end
end
return out
