-- complete: running runs succeeded (a batch: one entry per run); for each, store its output,
-- free its slot, wake a waiting parent, and publish its id on {P}done when a client watches it.
-- KEYS[1] leases zset (routing only: every key of a deployment shares its hash tag)
-- ARGV[1] P   ARGV[2] now ms   ARGV[3..] groups of 3: run id, lease token, encoded output
-- Returns one code per group: 1 done, -1 lease lost, -2 run canceled.
-- The leases and status index writes of all completed runs go out as one ZREM/ZADD each.
--@include common
local now = ARGV[2]
local RUN = P .. 'run:'
local out = {}
local n = 0
local done = {}     -- ZREM leases / status:running members
local finished = {} -- ZADD status:succeeded args: createdAt, id, ...
for i = 3, #ARGV, 3 do
  local id = ARGV[i]
  local rk = RUN .. id
  local r = redis.call('HMGET', rk, 'status', 'lease', 'workflow', 'createdAt', 'waiters', 'watched', 'limited')
  n = n + 1
  if r[1] == 'canceled' then
    out[n] = -2
  elseif r[1] ~= 'running' or r[2] ~= ARGV[i + 1] then
    out[n] = -1
  else
    redis.call('HSET', rk, 'status', 'succeeded', 'output', ARGV[i + 2], 'finishedAt', now, 'lease', '')
    done[#done + 1] = id
    finished[#finished + 1] = r[4]
    finished[#finished + 1] = id
    if r[7] == '1' then free_limited_slot(id, r[3]) end
    wake_parents(r[5], id)
    if r[6] then redis.call('PUBLISH', P .. 'done', id) end
    out[n] = 1
  end
end
if #done > 0 then
  call_many('ZREM', k_status('running'), done)
  call_many('ZADD', k_status('succeeded'), finished)
  call_many('ZREM', K_LEASES, done)
end
return out
