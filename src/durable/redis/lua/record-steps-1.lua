-- record-steps: store step records of running runs (a batch: one entry per run and step), each
-- only for the current lease holder. Batching lets a busy worker send the records of many runs
-- in one call; every entry is checked and written on its own.
-- KEYS[1] leases zset (routing only: every key of a deployment shares its hash tag)
-- ARGV[1] P   ARGV[2..] groups of 4: run id, lease token, step name, step record (JSON)
-- Returns one code per group: 1 recorded, -1 lease lost, -2 run canceled.
local P = ARGV[1]
local out = {}
for i = 2, #ARGV, 4 do
  local id = ARGV[i]
  local r = redis.call('HMGET', P .. 'run:' .. id, 'status', 'lease')
  if r[1] == 'canceled' then
    out[#out + 1] = -2
  elseif r[1] ~= 'running' or r[2] ~= ARGV[i + 1] then
    out[#out + 1] = -1
  else
    redis.call('HSET', P .. 'steps:' .. id, ARGV[i + 2], ARGV[i + 3])
    out[#out + 1] = 1
  end
end
return out
