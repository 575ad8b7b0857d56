-- complete: running runs succeeded (a batch: one entry per run); for each, store its output,
-- free its slot, wake a waiting parent, and publish its id on {P}done when a client watches it.
-- KEYS[1] leases zset (routing only: every key of a deployment shares its hash tag)
-- ARGV[1] P   ARGV[2] now ms   ARGV[3..] groups of 3: run id, lease token, encoded output
-- Returns one code per group: 1 done, -1 lease lost, -2 run canceled.
--@include common
local now = ARGV[2]
local out = {}
for i = 3, #ARGV, 3 do
  local id = ARGV[i]
  local rk = k_run(id)
  local r = redis.call('HMGET', rk, 'status', 'lease', 'workflow', 'createdAt', 'waiters', 'watched', 'limited')
  if r[1] == 'canceled' then
    out[#out + 1] = -2
  elseif r[1] ~= 'running' or r[2] ~= ARGV[i + 1] then
    out[#out + 1] = -1
  else
    redis.call('HSET', rk, 'status', 'succeeded', 'output', ARGV[i + 2], 'finishedAt', now, 'lease', '')
    move_status(id, 'running', 'succeeded', r[4])
    release_slot(id, r[3], r[7])
    wake_parents(r[5], id)
    if r[6] then redis.call('PUBLISH', P .. 'done', id) end
    out[#out + 1] = 1
  end
end
return out
