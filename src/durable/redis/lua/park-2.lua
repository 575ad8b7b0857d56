-- park: a running run waits (sleep, event, child run) without holding a worker slot. Its step
-- record becomes 'waiting'; the run becomes 'scheduled' (in {P}scheduled when it has a wake-up
-- or timeout time) and is re-queued by promote, by a matching event, or by the child finishing.
-- KEYS[1] run hash   KEYS[2] steps hash
-- ARGV[1] P   ARGV[2] run id   ARGV[3] lease token   ARGV[4] now ms   ARGV[5] step name
-- ARGV[6] step record (JSON)   ARGV[7] wake-up/timeout ms (0 = none)
-- ARGV[8] kind: 'sleep' | 'event' | 'child'
-- ARGV[9] for 'event': "<event name>\n<correlation key>"; for 'child': the child run id
-- Returns 1 parked, 0 not parked because the child already finished, -1 lease lost, -2 canceled.
--@include common
local id = ARGV[2]
local r = redis.call('HMGET', KEYS[1], 'status', 'lease', 'workflow', 'createdAt', 'limited')
if r[1] == 'canceled' then return -2 end
if r[1] ~= 'running' or r[2] ~= ARGV[3] then return -1 end
local kind = ARGV[8]
if kind == 'child' then
  local ck = k_run(ARGV[9])
  local c = redis.call('HMGET', ck, 'status', 'waiters')
  if not c[1] or is_terminal(c[1]) then return 0 end
  local w = c[2] or ''
  if not string.find(' ' .. w .. ' ', ' ' .. id .. ' ', 1, true) then
    redis.call('HSET', ck, 'waiters', w .. ' ' .. id)
  end
  redis.call('HSET', KEYS[1], 'waitChild', ARGV[9])
elseif kind == 'event' then
  local wk = P .. 'waiters:' .. ARGV[9]
  redis.call('SADD', wk, id)
  redis.call('HSET', KEYS[1], 'waitKey', wk)
end
redis.call('HSET', KEYS[2], ARGV[5], ARGV[6])
redis.call('HSET', KEYS[1], 'status', 'scheduled', 'lease', '', 'waitStep', ARGV[5])
local wake = tonumber(ARGV[7])
if wake > 0 then redis.call('ZADD', K_SCHEDULED, wake, id) end
move_status(id, 'running', 'scheduled', r[4])
release_slot(id, r[3], r[5])
return 1
