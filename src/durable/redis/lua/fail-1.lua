-- fail: an attempt of a running run failed. Mode 'retry' schedules the next attempt after a
-- delay (status scheduled, attempt + 1); mode 'fail' ends the run (status failed) and wakes a
-- waiting parent (and publishes its id on {P}done when a client watches it).
-- KEYS[1] run hash
-- ARGV[1] P   ARGV[2] run id   ARGV[3] lease token   ARGV[4] error (JSON)   ARGV[5] now ms
-- ARGV[6] mode: 'retry' | 'fail'   ARGV[7] retry delay ms
-- Returns 1 failed, 2 retry scheduled, -1 lease lost, -2 run canceled.
--@include common
local id = ARGV[2]
local now = tonumber(ARGV[5])
local r = redis.call('HMGET', KEYS[1], 'status', 'lease', 'workflow', 'createdAt', 'waiters', 'watched', 'limited')
if r[1] == 'canceled' then return -2 end
if r[1] ~= 'running' or r[2] ~= ARGV[3] then return -1 end
release_slot(id, r[3], r[7])
if ARGV[6] == 'retry' then
  redis.call('HSET', KEYS[1], 'status', 'scheduled', 'error', ARGV[4], 'lease', '')
  redis.call('HINCRBY', KEYS[1], 'attempt', 1)
  redis.call('ZADD', K_SCHEDULED, now + tonumber(ARGV[7]), id)
  move_status(id, 'running', 'scheduled', r[4])
  return 2
end
redis.call('HSET', KEYS[1], 'status', 'failed', 'error', ARGV[4], 'finishedAt', now, 'lease', '')
move_status(id, 'running', 'failed', r[4])
wake_parents(r[5], id)
if r[6] then redis.call('PUBLISH', P .. 'done', id) end
return 1
