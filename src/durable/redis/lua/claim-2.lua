-- claim: pop up to `count` queued runs from one queue and start them under a lease, honouring
-- each workflow's maxConcurrency across all workers. A run whose workflow is at its limit is set
-- aside in {P}blocked:<workflow> (no spinning) and comes back when a run of it stops running.
-- A run of a workflow this worker does not know goes back to the far end of the queue.
-- Ids whose run is no longer queued (canceled meanwhile) are dropped.
-- KEYS[1] queue list   KEYS[2] leases zset
-- ARGV[1] P   ARGV[2] now ms   ARGV[3] lease ms   ARGV[4] worker token   ARGV[5] count
-- ARGV[6..] pairs: workflow name, maxConcurrency (0 = unlimited) of the workflows this worker runs
-- Returns a flat list: {deferred, then 8 entries per claimed run: id, lease token, workflow,
--   queue, attempt, maxAttempts, input, step records (HGETALL flat pairs, or nil when the run
--   never started)}, where deferred = number of runs of unknown workflows put back.
-- The leases and status index writes of all claimed runs go out as one ZADD/ZREM each.
--@include common
local now = tonumber(ARGV[2])
-- numbers as redis.call would send them (%.17g), formatted once
local nowS = string.format('%.17g', now)
local leaseUntilS = string.format('%.17g', now + tonumber(ARGV[3]))
local count = tonumber(ARGV[5])
local limits = {}
for i = 6, #ARGV, 2 do limits[ARGV[i]] = tonumber(ARGV[i + 1]) end
local RUN = P .. 'run:'
local STEPS = P .. 'steps:'
local tokenBase = ARGV[4] .. '.' .. ARGV[2] .. '.'
local out = {0}
local n = 1
local foreign = {}
local leases = {}   -- ZADD leases args: score, id, ...
local queued = {}   -- ZREM status:queued args: id, ...
local running = {}  -- ZADD status:running args: createdAt, id, ...
local claimed = 0
local scanned = 0
local limit_scan = count + 50
while claimed < count and scanned < limit_scan do
  -- pop only as many as can still be claimed: the same ids one-by-one pops would take
  local want = count - claimed
  if want > limit_scan - scanned then want = limit_scan - scanned end
  local ids = redis.call('RPOP', KEYS[1], want)
  if not ids then break end
  for j = 1, #ids do
    local id = ids[j]
    scanned = scanned + 1
    local rk = RUN .. id
    local v = redis.call('HMGET', rk, 'status', 'workflow', 'createdAt', 'startedAt', 'queue', 'attempt', 'maxAttempts', 'input')
    if v[1] == 'queued' then
      local wf = v[2]
      local limit = limits[wf]
      if limit == nil then
        foreign[#foreign + 1] = id
      elseif limit > 0 and redis.call('SCARD', k_active(wf)) >= limit then
        redis.call('LPUSH', k_blocked(wf), id)
      else
        local limited = '0'
        if limit > 0 then
          redis.call('SADD', k_active(wf), id)
          limited = '1'
        end
        local token = tokenBase .. scanned
        redis.call('HSET', rk, 'status', 'running', 'lease', token, 'startedAt', nowS, 'limited', limited)
        claimed = claimed + 1
        leases[#leases + 1] = leaseUntilS
        leases[#leases + 1] = id
        queued[claimed] = id
        running[#running + 1] = v[3]
        running[#running + 1] = id
        -- a run that never started has no step records: skip the read
        local steps = false
        if v[4] then steps = redis.call('HGETALL', STEPS .. id) end
        out[n + 1] = id
        out[n + 2] = token
        out[n + 3] = wf
        out[n + 4] = v[5]
        out[n + 5] = v[6]
        out[n + 6] = v[7]
        out[n + 7] = v[8]
        out[n + 8] = steps
        n = n + 8
      end
    end
  end
end
if claimed > 0 then
  call_many('ZADD', KEYS[2], leases)
  call_many('ZREM', k_status('queued'), queued)
  call_many('ZADD', k_status('running'), running)
end
for _, id in ipairs(foreign) do redis.call('LPUSH', KEYS[1], id) end
out[1] = #foreign
return out
