-- emit: create a run (queued, or scheduled when runAt is in the future), deduplicated by an
-- idempotency key.
-- KEYS[1] run hash of the new run ({P}run:<id>)
-- KEYS[2] idempotency key ({P}idem:<key>; ignored when ARGV[8] is empty)
-- ARGV[1] P   ARGV[2] run id   ARGV[3] workflow   ARGV[4] queue ('' = from registry metadata)
-- ARGV[5] maxAttempts ('' = from registry metadata)   ARGV[6] encoded input
-- ARGV[7] parent run id or ''   ARGV[8] idempotency key or ''   ARGV[9] idempotency TTL ms
-- ARGV[10] now ms   ARGV[11] runAt ms (0 = now)
-- ARGV[12] skip-if-busy limit: 0 = never skip; n > 0 = skip when n runs of the workflow are running
-- A run created scheduled is announced on the `timers` channel (its runAt), so workers wake for it.
-- Returns {code, id}: 1 created (id = new run), 0 existing run for the key (id = that run),
--   -1 unknown workflow (not in registry metadata), -2 skipped (workflow at its limit).
--@include common
local id = ARGV[2]
local wf = ARGV[3]
local queue = ARGV[4]
local maxAttempts = ARGV[5]
local idem = ARGV[8]
local now = tonumber(ARGV[10])
if idem ~= '' then
  local existing = redis.call('GET', KEYS[2])
  -- a run deleted by retention no longer holds its key
  if existing and redis.call('EXISTS', k_run(existing)) == 1 then return {0, existing} end
end
if queue == '' or maxAttempts == '' then
  local meta = redis.call('HGET', P .. 'workflows', wf)
  if not meta then return {-1, ''} end
  local m = cjson.decode(meta)
  if queue == '' then queue = m.queue end
  if maxAttempts == '' then maxAttempts = m.maxAttempts end
end
local limit = tonumber(ARGV[12])
if limit > 0 and redis.call('SCARD', k_active(wf)) >= limit then return {-2, ''} end
local runAt = tonumber(ARGV[11])
create_run(id, wf, queue, maxAttempts, ARGV[6], ARGV[7], idem, now, runAt)
if runAt > now then redis.call('PUBLISH', P .. 'timers', ARGV[11]) end
if idem ~= '' then redis.call('SET', KEYS[2], id, 'PX', ARGV[9]) end
return {1, id}
