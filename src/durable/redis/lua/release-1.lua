-- release: a stopping worker hands a run it holds back to its queue (popped next).
-- KEYS[1] run hash
-- ARGV[1] P   ARGV[2] run id   ARGV[3] lease token
-- Returns 1 handed back, 0 not held by this lease.
--@include common
local id = ARGV[2]
local r = redis.call('HMGET', KEYS[1], 'status', 'lease', 'workflow', 'queue', 'createdAt', 'limited')
if r[1] ~= 'running' or r[2] ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], 'status', 'queued', 'lease', '')
move_status(id, 'running', 'queued', r[5])
release_slot(id, r[3], r[6])
redis.call('RPUSH', k_queue(r[4]), id)
return 1
