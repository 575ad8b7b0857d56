-- emit-event: store an event, resume the runs waiting for it (their waiting step becomes
-- succeeded with the payload) and start a run of every workflow triggered by its name.
-- KEYS[1] event hash
-- ARGV[1] P   ARGV[2] event id   ARGV[3] name   ARGV[4] correlation key or ''
-- ARGV[5] encoded payload   ARGV[6] now ms
-- Returns {resumed run ids, started run ids}.
--@include common
local eid = ARGV[2]
local name = ARGV[3]
local corr = ARGV[4]
local payload = ARGV[5]
local now = tonumber(ARGV[6])
redis.call('HSET', KEYS[1], 'id', eid, 'name', name, 'correlationKey', corr, 'payload', payload, 'createdAt', now)
redis.call('ZADD', P .. 'events', now, eid)
redis.call('ZADD', P .. 'events:name:' .. name, now, eid)
local resumed = {}
local function wake(wk)
  local ids = redis.call('SMEMBERS', wk)
  for _, id in ipairs(ids) do
    local r = redis.call('HMGET', k_run(id), 'status', 'waitKey', 'waitStep')
    if r[1] == 'scheduled' and r[2] == wk and r[3] then
      local sk = k_steps(id)
      local old = redis.call('HGET', sk, r[3])
      local rec = {}
      if old then rec = cjson.decode(old) end
      rec.status = 'succeeded'
      rec.output = payload
      rec.finishedAt = now
      rec.eventId = eid
      redis.call('HSET', sk, r[3], cjson.encode(rec))
      requeue(id)
      table.insert(resumed, id)
    end
  end
  if #ids > 0 then redis.call('DEL', wk) end
end
wake(P .. 'waiters:' .. name .. '\n')
if corr ~= '' then wake(P .. 'waiters:' .. name .. '\n' .. corr) end
local started = {}
local wfs = redis.call('SMEMBERS', P .. 'triggers:' .. name)
for i, wf in ipairs(wfs) do
  local meta = redis.call('HGET', P .. 'workflows', wf)
  if meta then
    local m = cjson.decode(meta)
    local id = eid .. '-' .. i
    create_run(id, wf, m.queue, m.maxAttempts, payload, '', '', now, 0)
    table.insert(started, id)
  end
end
if #started > 0 then redis.call('HSET', KEYS[1], 'runs', table.concat(started, ' ')) end
return {resumed, started}
