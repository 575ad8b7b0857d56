-- cancel: mark a run canceled unless it already finished. A running run loses its slot now and
-- its worker is told on {P}cancel (and on its next lease renewal); a parked or queued run is
-- removed from the schedule and wait sets (a stale queue entry is dropped at claim time).
-- Its 'running' and 'waiting' steps (a body running, a sleep, event wait, child wait) become
-- 'canceled', with the cancellation error and finishedAt (steps:<id> is not in KEYS; it shares the run's hash tag).
-- Watched runs are announced on {P}done.
-- KEYS[1] run hash
-- ARGV[1] P   ARGV[2] run id   ARGV[3] error (JSON)   ARGV[4] now ms
-- Returns {code, child ids...}: code 1 canceled, 0 already finished, -3 no such run.
--@include common
local id = ARGV[2]
local r = redis.call('HMGET', KEYS[1], 'status', 'workflow', 'createdAt', 'waitKey', 'waiters', 'watched', 'limited')
if not r[1] then return {-3} end
if is_terminal(r[1]) then return {0} end
redis.call('HSET', KEYS[1], 'status', 'canceled', 'error', ARGV[3], 'finishedAt', ARGV[4], 'lease', '',
  'waitKey', '', 'waitChild', '')
redis.call('ZREM', K_SCHEDULED, id)
if r[4] and r[4] ~= '' then redis.call('SREM', r[4], id) end
if r[1] == 'running' then
  release_slot(id, r[2], r[7])
  redis.call('PUBLISH', P .. 'cancel', id)
end
move_status(id, r[1], 'canceled', r[3])
local sk = k_steps(id)
local steps = redis.call('HGETALL', sk)
for i = 1, #steps, 2 do
  local ok, rec = pcall(cjson.decode, steps[i + 1])
  if ok and type(rec) == 'table' and (rec.status == 'waiting' or rec.status == 'running') then
    rec.status = 'canceled'
    rec.error = ARGV[3]
    rec.finishedAt = tonumber(ARGV[4])
    redis.call('HSET', sk, steps[i], cjson.encode(rec))
  end
end
wake_parents(r[5], id)
if r[6] then redis.call('PUBLISH', P .. 'done', id) end
local out = {1}
for _, c in ipairs(redis.call('SMEMBERS', P .. 'children:' .. id)) do table.insert(out, c) end
return out
