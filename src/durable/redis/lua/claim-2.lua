-- claim: pop up to `count` queued runs from one queue and start them under a lease, honouring
-- each workflow's maxConcurrency across all workers. A run whose workflow is at its limit is set
-- aside in {P}blocked:<workflow> (no spinning) and comes back when a run of it stops running.
-- A run of a workflow this worker does not know goes back to the far end of the queue.
-- Ids whose run is no longer queued (canceled meanwhile) are dropped.
-- KEYS[1] queue list   KEYS[2] leases zset
-- ARGV[1] P   ARGV[2] now ms   ARGV[3] lease ms   ARGV[4] worker token   ARGV[5] count
-- ARGV[6..] pairs: workflow name, maxConcurrency (0 = unlimited) of the workflows this worker runs
-- Returns {deferred, {id, lease token, run fields (flat pairs: workflow, queue, attempt,
--   maxAttempts, input, createdAt), step records (HGETALL)}, ...}
--   where deferred = number of runs of unknown workflows put back.
--@include common
local now = tonumber(ARGV[2])
local leaseUntil = now + tonumber(ARGV[3])
local count = tonumber(ARGV[5])
local limits = {}
for i = 6, #ARGV, 2 do limits[ARGV[i]] = tonumber(ARGV[i + 1]) end
local out = {0}
local foreign = {}
local claimed = 0
local scanned = 0
while claimed < count and scanned < count + 50 do
  local id = redis.call('RPOP', KEYS[1])
  if not id then break end
  scanned = scanned + 1
  local rk = k_run(id)
  local v = redis.call('HMGET', rk, 'status', 'workflow', 'createdAt', 'startedAt', 'queue', 'attempt', 'maxAttempts', 'input')
  local run = {status = v[1], workflow = v[2], createdAt = v[3], startedAt = v[4]}
  if run.status == 'queued' then
    local wf = run.workflow
    local limit = limits[wf]
    if limit == nil then
      table.insert(foreign, id)
    elseif limit > 0 and redis.call('SCARD', k_active(wf)) >= limit then
      redis.call('LPUSH', k_blocked(wf), id)
    else
      if limit > 0 then redis.call('SADD', k_active(wf), id) end
      local token = ARGV[4] .. '.' .. ARGV[2] .. '.' .. scanned
      redis.call('HSET', rk, 'status', 'running', 'lease', token, 'startedAt', now, 'limited', limit > 0 and '1' or '0')
      redis.call('ZADD', KEYS[2], leaseUntil, id)
      move_status(id, 'queued', 'running', run.createdAt)
      claimed = claimed + 1
      -- a run that never started has no step records: skip the read
      local steps = {}
      if run.startedAt then steps = redis.call('HGETALL', k_steps(id)) end
      local fields = {'workflow', v[2], 'queue', v[5], 'attempt', v[6], 'maxAttempts', v[7], 'input', v[8], 'createdAt', v[3]}
      table.insert(out, {id, token, fields, steps})
    end
  end
end
for _, id in ipairs(foreign) do redis.call('LPUSH', KEYS[1], id) end
out[1] = #foreign
return out
