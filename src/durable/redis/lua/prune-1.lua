-- prune: delete what the retention setting no longer keeps: finished runs (succeeded, failed,
-- canceled) that finished at or before the cutoff, with their step records, children set and
-- index entries, and events emitted at or before it. Runs that have not finished are never
-- touched. Each status index is read oldest-created first, at most `max` entries per call, so
-- one call is bounded; a run created long ago that finished after the cutoff is kept.
-- KEYS[1] runs zset (routing only: every key of a deployment shares its hash tag)
-- ARGV[1] P   ARGV[2] cutoff ms   ARGV[3] max entries read per index
-- Returns {runs deleted, events deleted}.
--@include common
local cutoff = tonumber(ARGV[2])
local max = tonumber(ARGV[3])
local runs, events = 0, 0
for _, st in ipairs({'succeeded', 'failed', 'canceled'}) do
  local zk = k_status(st)
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', zk, '-inf', cutoff, 'LIMIT', 0, max)) do
    local rk = k_run(id)
    local r = redis.call('HMGET', rk, 'status', 'finishedAt', 'workflow', 'parentRunId')
    if not r[1] then
      -- an index entry without its run: drop it
      redis.call('ZREM', zk, id)
    elseif r[1] == st and (tonumber(r[2]) or 0) <= cutoff then
      redis.call('DEL', rk, k_steps(id), P .. 'children:' .. id)
      redis.call('ZREM', zk, id)
      redis.call('ZREM', P .. 'runs', id)
      if r[3] then redis.call('ZREM', P .. 'runs:wf:' .. r[3], id) end
      if r[4] and r[4] ~= '' then redis.call('SREM', P .. 'children:' .. r[4], id) end
      runs = runs + 1
    end
  end
end
for _, eid in ipairs(redis.call('ZRANGEBYSCORE', P .. 'events', '-inf', cutoff, 'LIMIT', 0, max)) do
  local ek = P .. 'event:' .. eid
  local name = redis.call('HGET', ek, 'name')
  redis.call('DEL', ek)
  redis.call('ZREM', P .. 'events', eid)
  if name then redis.call('ZREM', P .. 'events:name:' .. name, eid) end
  events = events + 1
end
return {runs, events}
