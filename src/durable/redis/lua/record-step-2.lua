-- record-step: store a step record of a running run, only for the current lease holder.
-- KEYS[1] run hash   KEYS[2] steps hash
-- ARGV[1] lease token   ARGV[2] step name   ARGV[3] step record (JSON)
-- Returns 1 recorded, -1 lease lost, -2 run canceled.
local r = redis.call('HMGET', KEYS[1], 'status', 'lease')
if r[1] == 'canceled' then return -2 end
if r[1] ~= 'running' or r[2] ~= ARGV[1] then return -1 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1
