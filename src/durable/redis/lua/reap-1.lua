-- reap: runs whose lease expired (their worker died or hung) go back to their queue, at the end
-- that is popped next. The attempt number does not change: a crash is not a failed attempt.
-- KEYS[1] leases zset
-- ARGV[1] P   ARGV[2] now ms   ARGV[3] max runs per call
-- Returns the ids of the runs re-queued.
--@include common
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local rk = k_run(id)
  local r = redis.call('HMGET', rk, 'status', 'workflow', 'queue', 'createdAt', 'limited')
  if r[1] == 'running' then
    redis.call('HSET', rk, 'status', 'queued', 'lease', '')
    move_status(id, 'running', 'queued', r[4])
    release_slot(id, r[2], r[5])
    redis.call('RPUSH', k_queue(r[3]), id)
    table.insert(out, id)
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
