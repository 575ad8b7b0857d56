-- complete: a running run succeeded; store its output, free its slot, wake a waiting parent,
-- and publish its id on {P}done when a client watches it.
-- KEYS[1] run hash
-- ARGV[1] P   ARGV[2] run id   ARGV[3] lease token   ARGV[4] encoded output   ARGV[5] now ms
-- Returns 1 done, -1 lease lost, -2 run canceled.
--@include common
local id = ARGV[2]
local r = redis.call('HMGET', KEYS[1], 'status', 'lease', 'workflow', 'createdAt', 'waiters', 'watched', 'limited')
if r[1] == 'canceled' then return -2 end
if r[1] ~= 'running' or r[2] ~= ARGV[3] then return -1 end
redis.call('HSET', KEYS[1], 'status', 'succeeded', 'output', ARGV[4], 'finishedAt', ARGV[5], 'lease', '')
move_status(id, 'running', 'succeeded', r[4])
release_slot(id, r[3], r[7])
wake_parents(r[5], id)
if r[6] then redis.call('PUBLISH', P .. 'done', id) end
return 1
