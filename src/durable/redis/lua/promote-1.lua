-- promote: re-queue scheduled runs that are due (delayed runs, retries, sleeps that ended,
-- event or child waits that timed out).
-- KEYS[1] scheduled zset
-- ARGV[1] P   ARGV[2] now ms   ARGV[3] max runs per call
-- Returns the number of runs re-queued.
--@include common
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local n = 0
for _, id in ipairs(ids) do
  if redis.call('HGET', k_run(id), 'status') == 'scheduled' then
    requeue(id)
    n = n + 1
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return n
