-- Shared helpers, included by the loader where a script says `--@include common`.
-- Key scheme (see ../keys.ts): every key starts with P = ARGV[1] = "{<prefix>}:", so all keys
-- of a deployment share one hash tag and one Cluster slot.
local P = ARGV[1]
local function k_run(id) return P .. 'run:' .. id end
local function k_steps(id) return P .. 'steps:' .. id end
local function k_queue(q) return P .. 'queue:' .. q end
local function k_status(s) return P .. 'status:' .. s end
local function k_active(wf) return P .. 'active:' .. wf end
local function k_blocked(wf) return P .. 'blocked:' .. wf end
local K_SCHEDULED = P .. 'scheduled'
local K_LEASES = P .. 'leases'

local function is_terminal(s)
  return s == 'succeeded' or s == 'failed' or s == 'canceled'
end

-- Sends `cmd key a1 a2 ...` for a list of arguments (e.g. ZADD pairs, ZREM members), in calls of
-- at most 1000 arguments (Lua's unpack limit); `args` must hold whole pairs for ZADD.
local function call_many(cmd, key, args)
  for i = 1, #args, 1000 do
    redis.call(cmd, key, unpack(args, i, math.min(i + 999, #args)))
  end
end

-- Moves a run between the per-status indexes (sorted by creation time).
local function move_status(id, old, new, created)
  if old and old ~= '' then redis.call('ZREM', k_status(old), id) end
  redis.call('ZADD', k_status(new), created, id)
end

-- A run of `wf` stopped running: drop its lease and, when its workflow has a maxConcurrency
-- (`limited` == '1', set at claim), free its slot and let one run of `wf` that was set aside
-- because of the limit back onto its queue (next to be popped). free_limited_slot is the second
-- half alone, for scripts that drop the leases of many runs in one ZREM.
local function free_limited_slot(id, wf)
  redis.call('SREM', k_active(wf), id)
  -- skip ids that are no longer queued (canceled while set aside)
  for _ = 1, 100 do
    local b = redis.call('RPOP', k_blocked(wf))
    if not b then return end
    local r = redis.call('HMGET', k_run(b), 'status', 'queue')
    if r[1] == 'queued' then
      redis.call('RPUSH', k_queue(r[2]), b)
      return
    end
  end
end

local function release_slot(id, wf, limited)
  redis.call('ZREM', K_LEASES, id)
  if limited == '1' then free_limited_slot(id, wf) end
end

-- Puts a parked (scheduled) run back on its queue.
local function requeue(id)
  local rk = k_run(id)
  local r = redis.call('HMGET', rk, 'status', 'queue', 'createdAt', 'waitKey')
  redis.call('ZREM', K_SCHEDULED, id)
  if r[4] and r[4] ~= '' then redis.call('SREM', r[4], id) end
  redis.call('HSET', rk, 'status', 'queued', 'waitKey', '', 'waitChild', '', 'waitStep', '')
  move_status(id, r[1], 'queued', r[3])
  redis.call('LPUSH', k_queue(r[2]), id)
end

-- Wakes the parents (space-separated ids) that wait for child `childId` to finish.
local function wake_parents(waiters, childId)
  if not waiters or waiters == '' then return end
  for pid in string.gmatch(waiters, '%S+') do
    local pr = redis.call('HMGET', k_run(pid), 'status', 'waitChild')
    if pr[1] == 'scheduled' and pr[2] == childId then requeue(pid) end
  end
end

-- Creates a run record and queues or schedules it.
local function create_run(id, wf, queue, maxAttempts, input, parent, idemKey, now, runAt)
  local status = 'queued'
  if runAt > now then status = 'scheduled' end
  redis.call('HSET', k_run(id), 'id', id, 'workflow', wf, 'queue', queue, 'status', status,
    'input', input, 'attempt', 1, 'maxAttempts', maxAttempts, 'createdAt', now,
    'parentRunId', parent, 'idempotencyKey', idemKey, 'runAt', runAt)
  if status == 'queued' then
    redis.call('LPUSH', k_queue(queue), id)
  else
    redis.call('ZADD', K_SCHEDULED, runAt, id)
  end
  redis.call('ZADD', P .. 'runs', now, id)
  redis.call('ZADD', P .. 'runs:wf:' .. wf, now, id)
  redis.call('ZADD', k_status(status), now, id)
  if parent ~= '' then redis.call('SADD', P .. 'children:' .. parent, id) end
  return status
end
